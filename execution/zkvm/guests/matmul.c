/* Integer matrix multiply: input = n (u32), then A and B as n*n signed 32-bit integers each,
 * row-major little-endian (n <= 32); output = C = A * B with wrapping 32-bit arithmetic. */
#include "ivcnet.h"

#define MAX_N 32
static int32_t A[MAX_N * MAX_N], B[MAX_N * MAX_N], C[MAX_N * MAX_N];

int main(void) {
    uint32_t n;
    if (ivc_read_exact(&n, 4) != 4 || n == 0 || n > MAX_N) return 1;
    uint32_t size = n * n * 4;
    if (ivc_read_exact(A, size) != size || ivc_read_exact(B, size) != size) return 2;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) {
            uint32_t acc = 0;
            for (uint32_t k = 0; k < n; k++) acc += (uint32_t)A[i * n + k] * (uint32_t)B[k * n + j];
            C[i * n + j] = (int32_t)acc;
        }
    }
    ivc_write_output(C, size);
    return 0;
}

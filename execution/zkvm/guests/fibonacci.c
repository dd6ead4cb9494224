/* Fibonacci: input = n as u32 little-endian (default 10 if absent);
 * output = fib(n) mod 2^64 as u64 little-endian. */
#include "ivcnet.h"

int main(void) {
    uint32_t n = 10;
    uint8_t buf[4];
    if (ivc_read_exact(buf, 4) == 4) {
        n = (uint32_t)buf[0] | ((uint32_t)buf[1] << 8) | ((uint32_t)buf[2] << 16) |
            ((uint32_t)buf[3] << 24);
    }
    uint64_t a = 0, b = 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    ivc_write_output(&a, 8);
    return 0;
}

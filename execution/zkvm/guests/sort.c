/* Sorting: input = up to 16384 signed 32-bit integers (little-endian);
 * output = the same integers in ascending order (heapsort: O(n log n), no recursion). */
#include "ivcnet.h"

#define MAX_N 16384
static int32_t values[MAX_N];

static void sift_down(int32_t *a, uint32_t start, uint32_t end) {
    uint32_t root = start;
    while (2 * root + 1 < end) {
        uint32_t child = 2 * root + 1;
        if (child + 1 < end && a[child] < a[child + 1]) child++;
        if (a[root] >= a[child]) return;
        int32_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

int main(void) {
    uint32_t bytes = ivc_read_exact(values, sizeof values);
    if (bytes % 4) return 1; /* not a whole number of integers */
    uint32_t n = bytes / 4;
    for (uint32_t i = n / 2; i-- > 0;) sift_down(values, i, n);
    for (uint32_t end = n; end > 1; end--) {
        int32_t t = values[0];
        values[0] = values[end - 1];
        values[end - 1] = t;
        sift_down(values, 0, end - 1);
    }
    ivc_write_output(values, n * 4);
    return 0;
}

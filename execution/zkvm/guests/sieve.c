/* Prime sieve of Eratosthenes: input = limit (u32, at most 4,000,000); output = the number
 * of primes <= limit, then the largest such prime (0 if none), both u32 little-endian. */
#include "ivcnet.h"

#define MAX_LIMIT 4000000
static uint8_t composite[MAX_LIMIT + 1];

int main(void) {
    uint32_t limit;
    if (ivc_read_exact(&limit, 4) != 4 || limit > MAX_LIMIT) return 1;
    uint32_t count = 0, largest = 0;
    for (uint32_t i = 2; i <= limit; i++) {
        if (composite[i]) continue;
        count++;
        largest = i;
        for (uint32_t j = i * i; i <= limit / i && j <= limit; j += i) composite[j] = 1;
    }
    ivc_write_u32(count);
    ivc_write_u32(largest);
    return 0;
}

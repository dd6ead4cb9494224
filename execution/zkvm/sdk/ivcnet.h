/* ivcnet guest SDK: syscalls of the ivcnet zkVM (RV32IM, Harvard layout).
 *
 * A syscall is ECALL with its number in a7 and arguments in a0, a1 (docs/zkvm.md).
 * Build with `ivcnet guest build prog.c -o prog.elf`; define `int main(void)`: its return
 * value becomes the exit code.
 */
#ifndef IVCNET_H
#define IVCNET_H

#include <stddef.h>
#include <stdint.h>

#define IVC_SYS_HALT 0
#define IVC_SYS_READ_INPUT 1
#define IVC_SYS_WRITE_OUTPUT 2
#define IVC_SYS_LOG 3

static inline uint32_t ivc_syscall2(uint32_t num, uint32_t arg0, uint32_t arg1) {
    register uint32_t a0 __asm__("a0") = arg0;
    register uint32_t a1 __asm__("a1") = arg1;
    register uint32_t a7 __asm__("a7") = num;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
    return a0;
}

/* End the run with `code` as its exit code. */
static inline __attribute__((noreturn)) void ivc_halt(uint32_t code) {
    ivc_syscall2(IVC_SYS_HALT, code, 0);
    __builtin_unreachable();
}

/* Copy up to `len` bytes of the run's input into `buf`; returns how many (0 at the end). */
static inline uint32_t ivc_read_input(void *buf, uint32_t len) {
    return ivc_syscall2(IVC_SYS_READ_INPUT, (uint32_t)(uintptr_t)buf, len);
}

/* Read exactly `len` bytes unless the input ends first; returns the bytes read. */
static inline uint32_t ivc_read_exact(void *buf, uint32_t len) {
    uint32_t got = 0;
    while (got < len) {
        uint32_t n = ivc_read_input((uint8_t *)buf + got, len - got);
        if (n == 0) break;
        got += n;
    }
    return got;
}

/* Append `len` bytes to the public output (part of the proven statement). */
static inline void ivc_write_output(const void *buf, uint32_t len) {
    ivc_syscall2(IVC_SYS_WRITE_OUTPUT, (uint32_t)(uintptr_t)buf, len);
}

static inline void ivc_write_u32(uint32_t value) {
    ivc_write_output(&value, 4); /* little-endian */
}

/* Debug text: shown by `ivcnet run`, ignored by the proof. */
static inline void ivc_log(const char *buf, uint32_t len) {
    ivc_syscall2(IVC_SYS_LOG, (uint32_t)(uintptr_t)buf, len);
}

static inline void ivc_log_str(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    ivc_log(s, n);
}

#endif /* IVCNET_H */

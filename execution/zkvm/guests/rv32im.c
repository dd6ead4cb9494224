/* Exercises every RV32IM instruction class through inline assembly, so the compiler cannot
 * fold anything away. Input = pairs of u32 (a, b), little-endian. For each pair the output is
 * 49 u32 words: 18 register-register results (including MUL/MULH/MULHSU/MULHU and DIV/DIVU/
 * REM/REMU, whose division-by-zero and INT_MIN / -1 cases come from the chosen pairs),
 * 12 register-immediate results, 6 branch outcomes and 13 load results after SW/SH/SB.
 * After all pairs come 4 words from LUI, AUIPC/JAL, JALR and FENCE checks. */
#include "ivcnet.h"

#define RR(op) ({ uint32_t r_; __asm__ volatile(#op " %0, %1, %2" : "=r"(r_) : "r"(a), "r"(b)); r_; })
#define RI(op, imm) ({ uint32_t r_; __asm__ volatile(#op " %0, %1, " #imm : "=r"(r_) : "r"(a)); r_; })
#define BR(op) ({ uint32_t r_; __asm__ volatile("li %0, 1\n\t" #op " %1, %2, 1f\n\tli %0, 0\n1:" \
                                                : "=&r"(r_) : "r"(a), "r"(b)); r_; })
#define LD(op, off) ({ uint32_t r_; __asm__ volatile(#op " %0, " #off "(%1)" : "=r"(r_) : "r"(buf) : "memory"); r_; })

static uint32_t out[64];
static uint32_t buf[2];

static void emit(uint32_t n) { ivc_write_output(out, n * 4); }

static void one_pair(uint32_t a, uint32_t b) {
    uint32_t n = 0;
    out[n++] = RR(add);   out[n++] = RR(sub);    out[n++] = RR(sll);   out[n++] = RR(slt);
    out[n++] = RR(sltu);  out[n++] = RR(xor);    out[n++] = RR(srl);   out[n++] = RR(sra);
    out[n++] = RR(or);    out[n++] = RR(and);    out[n++] = RR(mul);   out[n++] = RR(mulh);
    out[n++] = RR(mulhsu); out[n++] = RR(mulhu); out[n++] = RR(div);   out[n++] = RR(divu);
    out[n++] = RR(rem);   out[n++] = RR(remu);

    out[n++] = RI(addi, -1);    out[n++] = RI(addi, 2047);  out[n++] = RI(slti, -5);
    out[n++] = RI(sltiu, -1);   out[n++] = RI(xori, -1);    out[n++] = RI(ori, 0x555);
    out[n++] = RI(andi, -256);  out[n++] = RI(slli, 31);    out[n++] = RI(srli, 31);
    out[n++] = RI(srai, 31);    out[n++] = RI(slli, 7);     out[n++] = RI(srai, 13);

    out[n++] = BR(beq);  out[n++] = BR(bne);  out[n++] = BR(blt);
    out[n++] = BR(bge);  out[n++] = BR(bltu); out[n++] = BR(bgeu);

    /* buf = a, then b's low half at byte 2 and b's low byte at byte 1. */
    __asm__ volatile("sw %0, 0(%3)\n\tsh %1, 2(%3)\n\tsb %2, 1(%3)"
                     : : "r"(a), "r"(b), "r"(b), "r"(buf) : "memory");
    out[n++] = LD(lw, 0);
    out[n++] = LD(lb, 0);  out[n++] = LD(lb, 1);  out[n++] = LD(lb, 2);  out[n++] = LD(lb, 3);
    out[n++] = LD(lbu, 0); out[n++] = LD(lbu, 1); out[n++] = LD(lbu, 2); out[n++] = LD(lbu, 3);
    out[n++] = LD(lh, 0);  out[n++] = LD(lh, 2);  out[n++] = LD(lhu, 0); out[n++] = LD(lhu, 2);
    emit(n);
}

int main(void) {
    uint32_t pair[2];
    while (ivc_read_exact(pair, 8) == 8) one_pair(pair[0], pair[1]);

    uint32_t n = 0, t0, t1, t2, t3;
    __asm__ volatile("lui %0, 0x80001" : "=r"(t0));
    out[n++] = t0; /* 0x80001000 */
    __asm__ volatile("1: auipc %0, 0\n\tjal %1, 2f\n2:" : "=&r"(t0), "=&r"(t1));
    out[n++] = t1 - t0; /* 8: JAL links the address after itself */
    __asm__ volatile("la %0, 3f\n\tjalr %1, 1(%0)\n3:" : "=&r"(t2), "=&r"(t3));
    out[n++] = t3 - t2; /* 0: JALR clears bit 0 of the target; the link is label 3 */
    __asm__ volatile("fence\n\tfence rw, rw\n\tli %0, 7" : "=r"(t0));
    out[n++] = t0;
    emit(n);
    return 0;
}

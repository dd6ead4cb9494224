/* ivcnet zkVM guest entry: set the stack, call main, halt with its return value. */
    .section .text.ivc_start, "ax"
    .globl _start
_start:
    la sp, __stack_top
    call main
    li a7, 0            /* IVC_SYS_HALT; a0 already holds main's return value */
    ecall
1:  j 1b

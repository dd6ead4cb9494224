//! ivcnet guest SDK for Zig: the zkVM syscalls (docs/zkvm.md). `ivcnet guest build prog.zig`
//! makes this module importable as `@import("ivcnet")`; define
//! `export fn main() callconv(.c) i32` (its return value becomes the exit code).

pub const SYS_HALT: u32 = 0;
pub const SYS_READ_INPUT: u32 = 1;
pub const SYS_WRITE_OUTPUT: u32 = 2;
pub const SYS_LOG: u32 = 3;

inline fn syscall2(num: u32, arg0: u32, arg1: u32) u32 {
    return asm volatile ("ecall"
        : [ret] "={a0}" (-> u32),
        : [a0] "{a0}" (arg0),
          [a1] "{a1}" (arg1),
          [a7] "{a7}" (num),
        : .{ .memory = true });
}

/// End the run with `code` as its exit code.
pub fn halt(code: u32) noreturn {
    _ = syscall2(SYS_HALT, code, 0);
    unreachable;
}

/// Copy up to buf.len bytes of the input into buf; returns how many (0 at the end).
pub fn readInput(buf: []u8) u32 {
    return syscall2(SYS_READ_INPUT, @intFromPtr(buf.ptr), buf.len);
}

/// Append bytes to the public output (part of the proven statement).
pub fn writeOutput(buf: []const u8) void {
    _ = syscall2(SYS_WRITE_OUTPUT, @intFromPtr(buf.ptr), buf.len);
}

/// Debug text: shown by `ivcnet run`, ignored by the proof.
pub fn log(msg: []const u8) void {
    _ = syscall2(SYS_LOG, @intFromPtr(msg.ptr), msg.len);
}

/// Read until buf is full or the input ends; returns the bytes read.
pub fn readExact(buf: []u8) u32 {
    var got: u32 = 0;
    while (got < buf.len) {
        const n = readInput(buf[got..]);
        if (n == 0) break;
        got += n;
    }
    return got;
}

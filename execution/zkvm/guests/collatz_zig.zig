//! Collatz sequences, written in Zig: input = n (u32 little-endian, default 27);
//! output = for every start value 1..n the number of steps to reach 1, as u32 little-endian,
//! then the start value with the longest sequence (u32).
const ivc = @import("ivcnet");

var out: [4096]u32 = undefined;

export fn main() callconv(.c) i32 {
    var buf: [4]u8 = .{ 27, 0, 0, 0 };
    _ = ivc.readExact(&buf);
    const n = @as(u32, buf[0]) | (@as(u32, buf[1]) << 8) | (@as(u32, buf[2]) << 16) | (@as(u32, buf[3]) << 24);
    if (n == 0 or n > out.len) return 1;
    var best: u32 = 1;
    var i: u32 = 1;
    while (i <= n) : (i += 1) {
        var x: u64 = i;
        var steps: u32 = 0;
        while (x != 1) : (steps += 1) {
            x = if (x % 2 == 0) x / 2 else 3 * x + 1;
        }
        out[i - 1] = steps;
        if (steps > out[best - 1]) best = i;
    }
    ivc.log("collatz done");
    ivc.writeOutput(@as([*]const u8, @ptrCast(&out))[0 .. n * 4]);
    ivc.writeOutput(&@as([4]u8, @bitCast(best)));
    return 0;
}

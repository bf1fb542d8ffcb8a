// No runtime at all: no allocator, no garbage collector.
//
// The rabbit's memory is the static arena declared in memory-map.ts. With this runtime, any expression that would need
// a heap (`new`, string concatenation, number-to-string, dynamic arrays, closures) fails to compile with
// "Cannot find name '__new'", so "the hot paths allocate nothing" is checked by the compiler, not by review.

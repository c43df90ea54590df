// Analysis: the numerical engine — matrix products, QR, SVD, NMF, statistics and expanded weights.
//
// Everything here works on dense row-major Float32 (`Matrix`, `Tensor`) and is pure: no I/O, no
// global state. Long computations take a `Cancellation` and a `ProgressHandler` so the node
// server can map them to /interrupt and progress bars. See docs/ENGINE.md for the algorithms.

import Dispatch

/// Runs `work` on `workers` threads at once; each call of `work` pulls layers from a shared queue
/// until it is empty (the model overview and comparison reports).
///
/// One worker runs on the calling thread rather than in a `concurrentPerform`: libdispatch runs a
/// `concurrentPerform` nested inside another on a single thread, and the parallel kernels a lone
/// layer uses (Gram product, eigenvalue reduction, Lanczos) would lose the second core.
func runLayerWorkers(_ workers: Int, _ work: @Sendable () -> Void) {
    if workers <= 1 {
        work()
    } else {
        DispatchQueue.concurrentPerform(iterations: workers) { _ in work() }
    }
}

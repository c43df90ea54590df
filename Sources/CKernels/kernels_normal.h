// The truncated SVD's one product per Krylov step (included by kernels_body.h, so it is compiled
// once per instruction set like every other kernel).
//
// A step needs y = opᵀ·x (the new images) and then op·y (the next block). Done as two matrix
// products that is two passes over op, which for a 12288×3072 weight is 151 MB read twice, plus
// packing, plus — on the AVX-512 path — a 32-wide register tile of which a 16-column block uses
// half. Here both products share one pass: for a few long-side indices t at a time, y_t is
// accumulated over the short side while op's columns t stream in, and op[:, t]·y_t is added to w
// while those same columns are still in cache.

/// Long-side indices handled together: the number of accumulators in phase 1 and the number of
/// op columns re-read (from cache) in phase 2. Eight independent FMA chains cover the latency.
#define NA_R 8

static void k_normal_apply(wl_view op, long t0, long t1, const float *x, long ldx, long b,
                           float *restrict y, long ldy, float *restrict w, long ldw) {
    const long p = op.rows, rs = op.rs, cs = op.cs;
    long t = t0;
#if WL_VL == 16
    // A block of exactly one slice (16 columns: the Krylov block of a top-16 SVD) with 32 vector
    // registers: sixteen long-side indices at once, so each load of x_i or w_i serves sixteen
    // multiply-adds instead of eight (phase 2 in four chains of four). The groups of eight below
    // take what is left.
    if (b == WL_VL) {
        for (; t + 16 <= t1; t += 16) {
            const float *c = op.base + t * cs, *d = c + 8 * cs;
            vf a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
            vf a8 = 0, a9 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0, a14 = 0, a15 = 0, e;
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs, *u = d + i * rs;
                vf xv = ldf(x + i * ldx);
                e = o[0];      a0 = MADD(a0, e, xv);
                e = o[cs];     a1 = MADD(a1, e, xv);
                e = o[2 * cs]; a2 = MADD(a2, e, xv);
                e = o[3 * cs]; a3 = MADD(a3, e, xv);
                e = o[4 * cs]; a4 = MADD(a4, e, xv);
                e = o[5 * cs]; a5 = MADD(a5, e, xv);
                e = o[6 * cs]; a6 = MADD(a6, e, xv);
                e = o[7 * cs]; a7 = MADD(a7, e, xv);
                e = u[0];      a8 = MADD(a8, e, xv);
                e = u[cs];     a9 = MADD(a9, e, xv);
                e = u[2 * cs]; a10 = MADD(a10, e, xv);
                e = u[3 * cs]; a11 = MADD(a11, e, xv);
                e = u[4 * cs]; a12 = MADD(a12, e, xv);
                e = u[5 * cs]; a13 = MADD(a13, e, xv);
                e = u[6 * cs]; a14 = MADD(a14, e, xv);
                e = u[7 * cs]; a15 = MADD(a15, e, xv);
            }
            float *yt = y + (t - t0) * ldy;
            stf(yt, a0); stf(yt + ldy, a1); stf(yt + 2 * ldy, a2); stf(yt + 3 * ldy, a3);
            stf(yt + 4 * ldy, a4); stf(yt + 5 * ldy, a5); stf(yt + 6 * ldy, a6); stf(yt + 7 * ldy, a7);
            yt += 8 * ldy;
            stf(yt, a8); stf(yt + ldy, a9); stf(yt + 2 * ldy, a10); stf(yt + 3 * ldy, a11);
            stf(yt + 4 * ldy, a12); stf(yt + 5 * ldy, a13); stf(yt + 6 * ldy, a14); stf(yt + 7 * ldy, a15);
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs, *u = d + i * rs;
                float *wi = w + i * ldw;
                vf k0 = ldf(wi), k1, k2, k3;
                e = o[0];      k0 = MADD(k0, e, a0);
                e = o[cs];     k1 = e * a1;
                e = o[2 * cs]; k2 = e * a2;
                e = o[3 * cs]; k3 = e * a3;
                e = o[4 * cs]; k0 = MADD(k0, e, a4);
                e = o[5 * cs]; k1 = MADD(k1, e, a5);
                e = o[6 * cs]; k2 = MADD(k2, e, a6);
                e = o[7 * cs]; k3 = MADD(k3, e, a7);
                e = u[0];      k0 = MADD(k0, e, a8);
                e = u[cs];     k1 = MADD(k1, e, a9);
                e = u[2 * cs]; k2 = MADD(k2, e, a10);
                e = u[3 * cs]; k3 = MADD(k3, e, a11);
                e = u[4 * cs]; k0 = MADD(k0, e, a12);
                e = u[5 * cs]; k1 = MADD(k1, e, a13);
                e = u[6 * cs]; k2 = MADD(k2, e, a14);
                e = u[7 * cs]; k3 = MADD(k3, e, a15);
                stf(wi, (k0 + k1) + (k2 + k3));
            }
        }
    }
#endif
#if WL_VL == 8
    // 16 vector registers (AVX2) and a block of two slices (16 columns: top-16's block): four
    // long-side indices at a time over both slices, eight accumulators, so each broadcast of op
    // feeds two multiply-adds, as the 32-register loop below does with eight indices.
    if (cs != 1 && b == 2 * WL_VL) {
        for (; t + 4 <= t1; t += 4) {
            const float *c = op.base + t * cs;
            vf a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0, e;
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs;
                vf xv = ldf(x + i * ldx), xu = ldf(x + i * ldx + WL_VL);
                e = o[0];      a0 = MADD(a0, e, xv); b0 = MADD(b0, e, xu);
                e = o[cs];     a1 = MADD(a1, e, xv); b1 = MADD(b1, e, xu);
                e = o[2 * cs]; a2 = MADD(a2, e, xv); b2 = MADD(b2, e, xu);
                e = o[3 * cs]; a3 = MADD(a3, e, xv); b3 = MADD(b3, e, xu);
            }
            float *yt = y + (t - t0) * ldy;
            stf(yt, a0); stf(yt + WL_VL, b0); stf(yt + ldy, a1); stf(yt + ldy + WL_VL, b1);
            stf(yt + 2 * ldy, a2); stf(yt + 2 * ldy + WL_VL, b2); stf(yt + 3 * ldy, a3); stf(yt + 3 * ldy + WL_VL, b3);
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs;
                float *wi = w + i * ldw;
                vf acc = ldf(wi), acu = ldf(wi + WL_VL);
                e = o[0];      acc = MADD(acc, e, a0); acu = MADD(acu, e, b0);
                e = o[cs];     acc = MADD(acc, e, a1); acu = MADD(acu, e, b1);
                e = o[2 * cs]; acc = MADD(acc, e, a2); acu = MADD(acu, e, b2);
                e = o[3 * cs]; acc = MADD(acc, e, a3); acu = MADD(acu, e, b3);
                stf(wi, acc);
                stf(wi + WL_VL, acu);
            }
        }
    }
#endif
    // The slices s of the block run inside each group of NA_R long-side indices, so the group's
    // columns of op come from memory once per call and are re-read from cache for every slice.
    for (; t + NA_R <= t1; t += NA_R) {
        const float *c = op.base + t * cs;
        long s = 0;
#if WL_VL == 16 || defined(__aarch64__)
        // Two slices at once where there are 32 vector registers (16 accumulators): each broadcast
        // of op feeds two multiply-adds instead of one, which halves the loads per multiply-add of
        // both phases (one slice at a time the pass was load-bound: nine loads per eight FMAs).
        for (; s + 2 * WL_VL <= b; s += 2 * WL_VL) {
            vf a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
            vf b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0, e;
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs;
                vf xv = ldf(x + i * ldx + s), xu = ldf(x + i * ldx + s + WL_VL);
                e = o[0];      a0 = MADD(a0, e, xv); b0 = MADD(b0, e, xu);
                e = o[cs];     a1 = MADD(a1, e, xv); b1 = MADD(b1, e, xu);
                e = o[2 * cs]; a2 = MADD(a2, e, xv); b2 = MADD(b2, e, xu);
                e = o[3 * cs]; a3 = MADD(a3, e, xv); b3 = MADD(b3, e, xu);
                e = o[4 * cs]; a4 = MADD(a4, e, xv); b4 = MADD(b4, e, xu);
                e = o[5 * cs]; a5 = MADD(a5, e, xv); b5 = MADD(b5, e, xu);
                e = o[6 * cs]; a6 = MADD(a6, e, xv); b6 = MADD(b6, e, xu);
                e = o[7 * cs]; a7 = MADD(a7, e, xv); b7 = MADD(b7, e, xu);
            }
            float *yt = y + (t - t0) * ldy + s;
            stf(yt, a0); stf(yt + ldy, a1); stf(yt + 2 * ldy, a2); stf(yt + 3 * ldy, a3);
            stf(yt + 4 * ldy, a4); stf(yt + 5 * ldy, a5); stf(yt + 6 * ldy, a6); stf(yt + 7 * ldy, a7);
            float *yu = yt + WL_VL;
            stf(yu, b0); stf(yu + ldy, b1); stf(yu + 2 * ldy, b2); stf(yu + 3 * ldy, b3);
            stf(yu + 4 * ldy, b4); stf(yu + 5 * ldy, b5); stf(yu + 6 * ldy, b6); stf(yu + 7 * ldy, b7);
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs;
                float *wi = w + i * ldw + s;
                vf acc = ldf(wi), acu = ldf(wi + WL_VL);
                e = o[0];      acc = MADD(acc, e, a0); acu = MADD(acu, e, b0);
                e = o[cs];     acc = MADD(acc, e, a1); acu = MADD(acu, e, b1);
                e = o[2 * cs]; acc = MADD(acc, e, a2); acu = MADD(acu, e, b2);
                e = o[3 * cs]; acc = MADD(acc, e, a3); acu = MADD(acu, e, b3);
                e = o[4 * cs]; acc = MADD(acc, e, a4); acu = MADD(acu, e, b4);
                e = o[5 * cs]; acc = MADD(acc, e, a5); acu = MADD(acu, e, b5);
                e = o[6 * cs]; acc = MADD(acc, e, a6); acu = MADD(acu, e, b6);
                e = o[7 * cs]; acc = MADD(acc, e, a7); acu = MADD(acu, e, b7);
                stf(wi, acc);
                stf(wi + WL_VL, acu);
            }
        }
#endif
        for (; s + WL_VL <= b; s += WL_VL) {
            // Phase 1: y_t = Σ_i op[i, t] · x_i for NA_R consecutive t.
            vf a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, e;
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs;
                vf xv = ldf(x + i * ldx + s);
                e = o[0];      a0 = MADD(a0, e, xv);
                e = o[cs];     a1 = MADD(a1, e, xv);
                e = o[2 * cs]; a2 = MADD(a2, e, xv);
                e = o[3 * cs]; a3 = MADD(a3, e, xv);
                e = o[4 * cs]; a4 = MADD(a4, e, xv);
                e = o[5 * cs]; a5 = MADD(a5, e, xv);
                e = o[6 * cs]; a6 = MADD(a6, e, xv);
                e = o[7 * cs]; a7 = MADD(a7, e, xv);
            }
            float *yt = y + (t - t0) * ldy + s;
            stf(yt, a0); stf(yt + ldy, a1); stf(yt + 2 * ldy, a2); stf(yt + 3 * ldy, a3);
            stf(yt + 4 * ldy, a4); stf(yt + 5 * ldy, a5); stf(yt + 6 * ldy, a6); stf(yt + 7 * ldy, a7);
            // Phase 2: w_i += Σ_t op[i, t] · y_t, the same columns of op, now from cache; even and
            // odd t in two chains joined at the end, four dependent multiply-adds deep.
            for (long i = 0; i < p; i++) {
                const float *o = c + i * rs;
                float *wi = w + i * ldw + s;
                vf acc = ldf(wi), acd;
                e = o[0];      acc = MADD(acc, e, a0);
                e = o[cs];     acd = e * a1;
                e = o[2 * cs]; acc = MADD(acc, e, a2);
                e = o[3 * cs]; acd = MADD(acd, e, a3);
                e = o[4 * cs]; acc = MADD(acc, e, a4);
                e = o[5 * cs]; acd = MADD(acd, e, a5);
                e = o[6 * cs]; acc = MADD(acc, e, a6);
                e = o[7 * cs]; acd = MADD(acd, e, a7);
                stf(wi, acc + acd);
            }
        }
    }
    // The last few t one at a time.
    for (long s = 0; s + WL_VL <= b; s += WL_VL) {
        for (long tt = t; tt < t1; tt++) {
            const long t = tt;
            const float *c = op.base + t * cs;
            vf a = 0, e;
            for (long i = 0; i < p; i++) { e = c[i * rs]; a = MADD(a, e, ldf(x + i * ldx + s)); }
            stf(y + (t - t0) * ldy + s, a);
            for (long i = 0; i < p; i++) {
                float *wi = w + i * ldw + s;
                e = c[i * rs];
                stf(wi, MADD(ldf(wi), e, a));
            }
        }
    }
}

#undef NA_R

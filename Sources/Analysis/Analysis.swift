// Analysis: the numerical engine — matrix products, QR, SVD, NMF, statistics and expanded weights.

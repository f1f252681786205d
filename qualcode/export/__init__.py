"""Writers: one module per kind of output (segments, codebook documents, ...)."""

static void ${fname}(const ${ctype} *restrict input, ${ctype} *restrict output)
{
${tables}
${views}
    for (int c = 0; c < ${channels}; ++c) {
        for (int oy = 0; oy < ${oh}; ++oy) {
            for (int ox = 0; ox < ${ow}; ++ox) {
${init}
                for (int ky = ky_begin[oy]; ky < ky_end[oy]; ++ky) {
                    for (int kx = kx_begin[ox]; kx < kx_end[ox]; ++kx) {
${accumulate}
                    }
                }
                y[c][oy][ox] = ${value};
            }
        }
    }
}

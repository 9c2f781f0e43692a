static void ${fname}(const ${ctype} *restrict input, ${ctype} *restrict output)
{
${tables}
${views}
    for (int oc = 0; oc < ${out_channels}; ++oc) {
${prologue}
        for (int oy = 0; oy < ${oh}; ++oy) {
            for (int ox = 0; ox < ${ow}; ++ox) {
                ${acc_init}
                for (int c = 0; c < ${c_in}; ++c) {
                    for (int ky = ky_begin[oy]; ky < ky_end[oy]; ++ky) {
                        for (int kx = kx_begin[ox]; kx < kx_end[ox]; ++kx) {
                            ${mac}
                        }
                    }
                }
                y[oc][oy][ox] = ${value};
            }
        }
    }
}

static void ${fname}(const float *restrict input, float *restrict output)
{
${tables}
${views}
    for (int oc = 0; oc < ${out_channels}; ++oc) {
${prologue}
        for (int oy = 0; oy < ${oh}; ++oy) {
            for (int ox = 0; ox < ${ow}; ++ox) {
                float acc = b;
                for (int c = 0; c < ${c_in}; ++c) {
                    for (int ky = ky_begin[oy]; ky < ky_end[oy]; ++ky) {
                        for (int kx = kx_begin[ox]; kx < kx_end[ox]; ++kx) {
                            LG_MAC(acc, w[c][ky][kx], x[${channel}][${iy}][${ix}]);
                        }
                    }
                }
                y[oc][oy][ox] = ${value};
            }
        }
    }
}

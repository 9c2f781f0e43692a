/* Runs a generated network (compiled with -include <name>.h, named "net") on every
 * sample of a raw float32 file and writes the outputs as raw float32: the batch of
 * an ONNX test case runs sample by sample.
 * usage: run_case INPUT.f32 OUTPUT.f32 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    static float input[NET_INPUT_SIZE];
    static float output[NET_OUTPUT_SIZE];
    FILE *in, *out;
    size_t samples = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: run_case INPUT.f32 OUTPUT.f32\n");
        return 2;
    }
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (!in || !out) {
        fprintf(stderr, "run_case: cannot open %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    while (fread(input, sizeof input[0], NET_INPUT_SIZE, in) == NET_INPUT_SIZE) {
        net_infer(input, output);
        if (fwrite(output, sizeof output[0], NET_OUTPUT_SIZE, out) != NET_OUTPUT_SIZE) return 1;
        samples++;
    }
    fclose(in);
    return (fclose(out) == 0 && samples > 0) ? 0 : 1;
}

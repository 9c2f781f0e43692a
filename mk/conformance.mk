# ONNX import: lenetgen-import against ONNX's own test suite and hostile files.
#   make conformance      every in-scope case of Debian's libonnx-testdata (pytorch-converted
#                         Conv2d, AvgPool2d, MaxPool2d, Linear, activations; node tests conv,
#                         pooling, gemm, activations, flatten, softmax, batch norm) through
#                         lenetgen-import -> lenetgen -> gcc (strict flags) -> run, compared with
#                         output_0.pb within 2e-5 normwise relative error; out-of-scope cases
#                         must be refused with their listed message (tests/conformance/)
#   make test-import      the importer's own tests: errors (exact messages, nothing written),
#                         the description it writes, check vectors in make check, LeNet-5
#                         exported by PyTorch (tests/conformance/test_import.lua)
# CONFORMANCE_JOBS (default 2) compiles in parallel.
IMPORT_DEPS := python3-onnx:/usr/lib/python3/dist-packages/onnx python3-numpy:/usr/lib/python3/dist-packages/numpy \
               libonnx-testdata:/usr/share/libonnx-testdata/data/node

.PHONY: conformance test-import
TEST_TARGETS += conformance test-import

conformance:
	$(Q)tools/ensure-deps $(IMPORT_DEPS)
	$(Q)$(LUA) tests/conformance/test_conformance.lua

test-import:
	$(Q)tools/ensure-deps $(IMPORT_DEPS) python3-torch:/usr/lib/python3/dist-packages/torch
	$(Q)$(LUA) tests/conformance/test_import.lua

# int8 quantization (issue 13): --quantize=int8 --calibration CALIB.
#   make test-int8          generated int8 C against the integer reference, bit-exact, every
#                           layer traced, ASan+UBSan: models/, tests/tiny/ and random
#                           architectures INT8_SEEDS at every unroll level, plus a one-step
#                           weight change that must be caught (tests/int8/test_int8_harness.lua)
#   make test-int8-unit     the quantization arithmetic against hand-computed and TFLite values,
#                           calibration errors (tests/int8/test_quantize.lua)
INT8_SEEDS  ?= 1-20
INT8_LEVELS ?= full,kernel,none

.PHONY: test-int8 test-int8-unit
TEST_TARGETS += test-int8-unit test-int8

test-int8:
	$(Q)$(LUA) tests/int8/test_int8_harness.lua --seeds $(INT8_SEEDS) --levels $(INT8_LEVELS)

test-int8-unit:
	$(Q)$(LUA) tests/int8/test_quantize.lua

# make test-int8-mul32: the requantization's 32-bit-only arithmetic (ARMv6-M, LG_INT8_MUL32) and
# its 64-bit form against the integer reference on edge and random operands
# (tests/int8/test_mul32.lua), then the int8 harness with -DLG_INT8_MUL32 (the ARMv6-M path on
# the host, ASan+UBSan) at --unroll=kernel on the shipped, tiny and 2 random architectures
.PHONY: test-int8-mul32
TEST_TARGETS += test-int8-mul32
test-int8-mul32:
	$(Q)$(LUA) tests/int8/test_mul32.lua
	$(Q)CC="$${CC:-gcc} -DLG_INT8_MUL32" $(LUA) tests/int8/test_int8_harness.lua --seeds 1-2 --levels kernel

# int8 quantization (issue 13): --quantize=int8 --calibration CALIB.
#   make test-int8          generated int8 C against the integer reference, bit-exact, every
#                           layer traced, ASan+UBSan: models/, tests/tiny/ and random
#                           architectures INT8_SEEDS at every unroll level, plus a one-step
#                           weight change that must be caught (tests/int8/test_int8_harness.lua)
#   make test-int8-unit     the quantization arithmetic against hand-computed and TFLite values,
#                           calibration errors (tests/int8/test_quantize.lua)
# make test keeps CI under its time budget: 8 random architectures, and sources over 4 MB at
# --unroll=full (LeNet-5) are left to make soak (soak-int8: SOAK_INT8_SEEDS, --big-full)
INT8_SEEDS  ?= 1-8
INT8_LEVELS ?= full,kernel,none
SOAK_INT8_SEEDS ?= 9-60

.PHONY: test-int8 test-int8-unit soak soak-int8
TEST_TARGETS += test-int8-unit test-int8

# The descriptions are split into INT8_PARTS parts run side by side (--part K/N, each in
# build/int8/partK); each part's output is printed whole, in order.
INT8_PARTS ?= 2
test-int8:
	$(Q)mkdir -p $(BUILD)/int8; \
	for k in $$(seq 1 $(INT8_PARTS)); do \
	  { $(LUA) tests/int8/test_int8_harness.lua --seeds $(INT8_SEEDS) --levels $(INT8_LEVELS) \
	      --part $$k/$(INT8_PARTS) >$(BUILD)/int8/part$$k.log 2>&1; echo $$? >$(BUILD)/int8/part$$k.rc; } & \
	done; wait; rc=0; \
	for k in $$(seq 1 $(INT8_PARTS)); do \
	  echo "--- part $$k of $(INT8_PARTS)"; cat $(BUILD)/int8/part$$k.log; \
	  [ "$$(cat $(BUILD)/int8/part$$k.rc)" = 0 ] || rc=1; \
	done; exit $$rc

test-int8-unit:
	$(Q)$(LUA) tests/int8/test_quantize.lua

# make test-int8-mul32: the requantization's 32-bit-only arithmetic (ARMv6-M, LG_INT8_MUL32) and
# its 64-bit form against the integer reference on edge and random operands, and the LG_DSP
# form the generator picks for a layer whose accumulators it bounds (lg_scale_bounded, ACLE
# emulated; lg.int8emit.bounded_mode at its limits; lg_average on every sum of 1 to 16 codes)
# (tests/int8/test_mul32.lua), then the int8 harness with -DLG_INT8_MUL32 (the ARMv6-M path on
# the host, ASan+UBSan) at --unroll=kernel on LeNet-5 and 2 random architectures
.PHONY: test-int8-mul32
TEST_TARGETS += test-int8-mul32
test-int8-mul32:
	$(Q)$(LUA) tests/int8/test_mul32.lua
	$(Q)CC="$${CC:-gcc} -DLG_INT8_MUL32" LG_INT8_BUILD=$(BUILD)/int8-mul32 $(LUA) tests/int8/test_int8_harness.lua \
	    --seeds 1-2 --levels kernel --model models/lenet5.lua

soak: soak-int8
soak-int8:
	$(Q)$(LUA) tests/int8/test_int8_harness.lua --seeds $(SOAK_INT8_SEEDS) --levels $(INT8_LEVELS) --big-full

# Splitting --unroll=full over several translation units (--split-bytes).
#   make test-split         tests/split/test_split.lua: a tiny network in many parts (every part
#                           warning-free with gcc, clang, arm-none-eabi-gcc; harness equal to the
#                           reference), parts of two runs refused, --check of missing/stale parts,
#                           stale parts removed, --split-bytes usage errors
#   make test-split-lenet5  tests/split/lenet5_1gb.sh: every part of LeNet-5 --unroll=full compiles
#                           under ulimit -v 1 GB with gcc, clang, arm-none-eabi-gcc; harness equal to
#                           the reference; prints each compile's peak memory (about 5 min of CPU)

.PHONY: test-split test-split-lenet5
TEST_TARGETS += test-split test-split-lenet5

test-split:
	$(Q)$(LUA) tests/split/test_split.lua

test-split-lenet5:
	$(Q)tests/split/lenet5_1gb.sh

# Checking side (issue 3): the reference interpreter against PyTorch, the CMocka
# harness comparing generated C with the reference, and property tests on
# random architectures.
#   make test-reference           reference vs PyTorch outputs of tests/tiny/
#   make check MODEL=m.lua        generate m.lua at every unroll level and compare with the reference
#   make check SEED=n             the same for random architecture n (replays a soak failure)

.PHONY: test-reference
TEST_TARGETS += test-reference

test-reference:
	$(Q)$(LUA) tests/test_reference.lua

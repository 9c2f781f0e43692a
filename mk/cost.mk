# Cost: generation time grows with the work asked for, not with
# the spatial size.
#   make test-cost   tests/cost/test_cost.lua: closed-form MAC/tap counts against brute force
#                    (random geometries), then --explain and generation of huge-spatial
#                    descriptions at the limits (4096x4096), each within 10 s of CPU or
#                    refused with the exact --max-code-bytes message

.PHONY: test-cost
TEST_TARGETS += test-cost

test-cost: deps
	$(Q)tools/ensure-deps time:/usr/bin/time
	$(Q)$(LUA) tests/cost/test_cost.lua

# Unit tests of the generator's modules (issue 12): busted specs in tests/unit/
# (geometry, plan, render, each operator, module and function sizes), run by
# tests/unit/run.lua, which closes with "N passed, N failed".
#   make test-unit

.PHONY: test-unit
TEST_TARGETS += test-unit

test-unit: deps
	$(Q)$(LUA) tests/unit/run.lua

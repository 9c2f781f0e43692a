# Network names: every accepted name compiles next to every C99 standard header
# (gcc and clang, strict flags, the .c before and after the headers); reserved names are refused.

.PHONY: test-names
TEST_TARGETS += test-names

test-names:
	$(Q)$(LUA) tests/names/test_names.lua

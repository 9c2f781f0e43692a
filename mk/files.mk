# Files: reading the inputs and writing the outputs.
#   make test-files    tests/files/test_files.lua: weights read once, FIFOs/devices/directories
#                      refused as weights or outputs, the .h/.c pair replaced as a pair (lock,
#                      rollback, generation id), SIGINT and kill -9

.PHONY: test-files
TEST_TARGETS += test-files

test-files:
	$(Q)$(LUA) tests/files/test_files.lua

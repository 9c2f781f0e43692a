# Compilers: every description in models/ and tests/tiny/, every unroll level and math option,
# compiled warning-free by gcc, clang and arm-none-eabi-gcc.
.PHONY: test-compilers
TEST_TARGETS += test-compilers

test-compilers:
	$(Q)BUILD=$(BUILD) tests/compilers/compile_matrix.sh

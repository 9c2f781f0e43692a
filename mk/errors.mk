# Errors: bad input never crashes the generator, never loses files.
#   make test-errors   tests/errors/test_errors.lua: the corpus of broken inputs
#                      (tests/broken/desc, and every file of tests/broken/weights) through the
#                      real CLI: exact message, exit status, no stack trace, output directory
#                      unchanged, time and memory bounds; regeneration rewrites nothing
#   make test-fuzz     the fuzzer's self-test, then the mutation fuzzer with a short budget
#                      (seeds 1..FUZZ_COUNT, at most FUZZ_MAX_SECONDS)
#   make soak-fuzz     the mutation fuzzer, long budget (SOAK_FUZZ_COUNT cases from SOAK_FUZZ_SEED)
# A fuzz failure prints its seed; replay it with: lua5.4 tools/fuzz.lua --seed N --replay

FUZZ_COUNT          ?= 1200
FUZZ_MAX_SECONDS    ?= 50
SOAK_FUZZ_SEED      ?= 1000001
SOAK_FUZZ_COUNT     ?= 100000

.PHONY: test-errors test-fuzz soak soak-fuzz
TEST_TARGETS += test-errors test-fuzz

test-errors:
	$(Q)$(LUA) tests/errors/test_errors.lua

# the self-test first shows that the fuzzer's checks can fail
test-fuzz:
	$(Q)rc=0; \
	$(LUA) tools/fuzz.lua --self-test --work $(BUILD)/fuzz || rc=1; \
	$(LUA) tools/fuzz.lua --seed 1 --count $(FUZZ_COUNT) --max-seconds $(FUZZ_MAX_SECONDS) \
		--cli-every 50 --compile-every 25 --timeout 30 --work $(BUILD)/fuzz || rc=1; \
	exit $$rc

soak: soak-fuzz

soak-fuzz:
	$(Q)$(LUA) tools/fuzz.lua --seed $(SOAK_FUZZ_SEED) --count $(SOAK_FUZZ_COUNT) \
		--cli-every 200 --compile-every 50 --work $(BUILD)/soak-fuzz

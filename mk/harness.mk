# Harness: the reference interpreter against PyTorch, the CMocka
# harness comparing generated C with the reference, and property tests on
# random architectures. See tests/harness/driver.lua for how a suite is built.
#   make test-reference          reference interpreter vs PyTorch outputs of tests/tiny/
#   make test-harness            every models/ and tests/tiny/ description at every unroll
#                                level vs the reference, plus the broken-weight test
#   make test-property           PROPERTY_SEEDS random architectures at every unroll level
#   make soak-harness            SOAK_SEEDS random architectures in batches; prints failing
#                                seeds (part of make soak)
#   make check MODEL=m.lua       one description at every unroll level (optimised and
#                                traced sanitized builds); the first diverging layer on failure
#   make check SEED=n            the same for random architecture n (replays a soak failure)
#   LEVELS=kernel,none           with make check: only these unroll levels (full is the slow one)
#   make test-harness-fastmath   the same comparison with the code compiled (and the harness
#                                linked) with -Ofast and -O2 -ffast-math, by gcc and clang:
#                                every models/ and tests/tiny/ description plus random
#                                architectures HARNESS_FAST_SEEDS, every unroll level
#                                (LeNet-5 --unroll=full aside: one compile takes minutes)
# HARNESS_JOBS (default 2) compiles in parallel.

HARNESS_JOBS      ?= 2
HARNESS_MODELS    ?= $(sort $(wildcard models/*.lua)) $(sort $(wildcard tests/tiny/*.lua))
PROPERTY_SEEDS    ?= 1-100
LEVELS            ?= full,kernel,none
PROPERTY_MAX_MACS ?= 2000
SOAK_SEEDS        ?= 1001-3000
SOAK_BATCH        ?= 100
# Random architectures are compiled with ASan and UBSan minus the pointer checks
# (alignment, null, pointer-overflow, object-size) that ASan covers here and that
# make UBSan builds of unrolled code 3x slower; the bounds check stays.
PROPERTY_SAN      ?= -fsanitize=address,undefined -fno-sanitize=alignment,null,pointer-overflow,object-size \
                     -fno-sanitize-recover=all -fno-omit-frame-pointer
HARNESS_SUITE_RUN  = $(MAKE) --no-print-directory -f $(BUILD)/harness/$(1)/suite.mk -j$(HARNESS_JOBS) run

.PHONY: test-reference test-harness test-property test-harness-fastmath soak soak-harness check \
        test-check-levels
TEST_TARGETS += test-reference test-harness test-property test-harness-fastmath test-check-levels

test-check-levels:
	$(Q)$(LUA) tests/harness/test_check_levels.lua

test-reference:
	$(Q)$(LUA) tests/harness/test_reference.lua

# Both parts always run; the target fails if either does.
test-harness:
	$(Q)$(LUA) tests/harness/driver.lua plan --suite models --builds opt,san \
	  $(foreach m,$(HARNESS_MODELS),--model $(m)) >/dev/null
	$(Q)rc=0; \
	$(call HARNESS_SUITE_RUN,models) || rc=1; \
	$(LUA) tests/harness/test_broken.lua || rc=1; \
	exit $$rc

# One traced, sanitized build per architecture and level (it also names the first
# diverging layer); the optimised build is exercised by test-harness and check.
test-property:
	$(Q)$(LUA) tests/harness/driver.lua plan --suite property --builds san \
	  --seeds $(PROPERTY_SEEDS) --max-macs $(PROPERTY_MAX_MACS) >/dev/null
	$(Q)$(call HARNESS_SUITE_RUN,property) HARNESS_SAN="$(PROPERTY_SAN)"

# Users may compile the generated code with -ffast-math or -Ofast; it must stay within the
# tolerance. One suite per variant (compiler and flags), optimised builds only. The link
# takes the flags too, so the harness runs as the user's program would (on x86 an -Ofast
# program flushes subnormals to zero). _infer and _infer_scratch may then differ in the
# last bits (each may be summed in another order), so each must be within the tolerance.
HARNESS_FAST_VARIANTS ?= gcc-Ofast gcc-fastmath clang-Ofast
HARNESS_FAST_CC_gcc-Ofast      := gcc
HARNESS_FAST_FLAGS_gcc-Ofast   := -Ofast
HARNESS_FAST_CC_gcc-fastmath   := gcc
HARNESS_FAST_FLAGS_gcc-fastmath := -O2 -ffast-math
HARNESS_FAST_CC_clang-Ofast    := clang
HARNESS_FAST_FLAGS_clang-Ofast := -Ofast
HARNESS_FAST_SEEDS ?= 1-30
HARNESS_COMMA := ,
HARNESS_FAST_FULL_MODELS := $(filter-out models/lenet5.lua,$(HARNESS_MODELS))
# $(1): variant, $(2): suite, $(3): driver.lua plan arguments
HARNESS_FAST_RUN = echo "--- $(HARNESS_FAST_CC_$(1)) $(HARNESS_FAST_FLAGS_$(1)): $(2)"; \
	$(LUA) tests/harness/driver.lua plan --suite $(2) --builds opt $(3) \
	  --seeds $(HARNESS_FAST_SEEDS) --max-macs $(PROPERTY_MAX_MACS) >/dev/null \
	&& HARNESS_SCRATCH=tolerance $(call HARNESS_SUITE_RUN,$(2)) CC=$(HARNESS_FAST_CC_$(1)) \
	  HARNESS_OPT_FLAGS="$(HARNESS_FAST_FLAGS_$(1))" HARNESS_LINK_FLAGS="$(HARNESS_FAST_FLAGS_$(1))" \
	|| rc=1;

test-harness-fastmath:
	$(Q)rc=0; $(foreach v,$(HARNESS_FAST_VARIANTS),\
	  $(call HARNESS_FAST_RUN,$(v),fastmath/$(v),--levels kernel$(HARNESS_COMMA)none $(foreach m,$(HARNESS_MODELS),--model $(m))) \
	  $(call HARNESS_FAST_RUN,$(v),fastmath/$(v)-full,--levels full $(foreach m,$(HARNESS_FAST_FULL_MODELS),--model $(m)))) \
	exit $$rc

soak: soak-harness
soak-harness:
	$(Q)MAKE="$(MAKE)" LUA="$(LUA)" HARNESS_JOBS=$(HARNESS_JOBS) HARNESS_SAN="$(PROPERTY_SAN)" \
	  tests/harness/soak $(SOAK_SEEDS) $(SOAK_BATCH) $(PROPERTY_MAX_MACS)

ifdef SEED
check:
	$(Q)$(LUA) tests/harness/driver.lua plan --suite check/rand_$(SEED) --builds opt,san \
	  --seeds $(SEED) --max-macs $(PROPERTY_MAX_MACS) --levels $(LEVELS) >/dev/null
	$(Q)$(call HARNESS_SUITE_RUN,check/rand_$(SEED))
else
check:
	$(Q)$(LUA) tests/harness/driver.lua plan --suite check/$(basename $(notdir $(MODEL))) \
	  --builds opt,san --model $(MODEL) --levels $(LEVELS) >/dev/null
	$(Q)$(call HARNESS_SUITE_RUN,check/$(basename $(notdir $(MODEL))))
endif

# Builtin math (templates/math_builtin.c) on the host: its error bounds.
#   make test-math   tests/math/test_math_builtin.c, every MATH_STRIDE-th float (make test-math
#                    MATH_STRIDE=1 for all), also built with -Ofast and -O2 -ffast-math and by
#                    clang (MATH_FAST_STRIDE). On the targets: make firmware-test (mk/firmware.mk,
#                    whose fw_have this file uses: it is included first).

MATH_STRIDE ?= 16

.PHONY: test-math
TEST_TARGETS += test-math

# One build of tests/math/test_math_builtin.c per line below: compiler and flags, the
# sweep's stride, and the condition for it to run (empty: skipped, with the reason).
# Users may compile the generated code with -ffast-math or -Ofast, so the bounds must
# hold there too; those and clang's are coarser sweeps: they check what a compiler and
# its flags do to the code, not the method again.
FW_HOST_FMA := $(if $(and $(filter x86_64,$(shell uname -m)),$(shell grep -qw fma /proc/cpuinfo 2>/dev/null && echo yes)),yes)
MATH_FAST_STRIDE ?= 127
MATH_HAVE_CLANG := $(call fw_have,clang)
MATH_NO_CLANG   := clang not installed
MATH_NO_FMA     := not an x86-64 host with FMA

MATH_BUILDS := plain fma clang ofast fastmath ofast_fma clang_ofast clang_fastmath
MATH_CC_plain           := $(CC) -O2
MATH_STRIDE_plain       := $(MATH_STRIDE)
MATH_IF_plain           := yes
# with fused multiply-add, as on Cortex-M4F
MATH_CC_fma             := $(CC) -O2 -mfma -ffp-contract=fast
MATH_STRIDE_fma         := $(MATH_STRIDE)
MATH_IF_fma             := $(FW_HOST_FMA)
MATH_SKIP_fma           := $(MATH_NO_FMA)
MATH_CC_clang           := clang -O2
MATH_STRIDE_clang       := 251
MATH_IF_clang           := $(MATH_HAVE_CLANG)
MATH_SKIP_clang         := $(MATH_NO_CLANG)
MATH_CC_ofast           := $(CC) -Ofast
MATH_CC_fastmath        := $(CC) -O2 -ffast-math
MATH_CC_ofast_fma       := $(CC) -Ofast -mfma
MATH_IF_ofast_fma       := $(FW_HOST_FMA)
MATH_SKIP_ofast_fma     := $(MATH_NO_FMA)
MATH_CC_clang_ofast     := clang -Ofast
MATH_IF_clang_ofast     := $(MATH_HAVE_CLANG)
MATH_SKIP_clang_ofast   := $(MATH_NO_CLANG)
MATH_CC_clang_fastmath  := clang -O2 -ffast-math
MATH_IF_clang_fastmath  := $(MATH_HAVE_CLANG)
MATH_SKIP_clang_fastmath := $(MATH_NO_CLANG)
math_stride = $(or $(MATH_STRIDE_$(1)),$(MATH_FAST_STRIDE))
math_runs   = $(if $(filter undefined,$(origin MATH_IF_$(1))),yes,$(MATH_IF_$(1)))
MATH_RUN := $(foreach b,$(MATH_BUILDS),$(if $(call math_runs,$(b)),$(b)))

$(BUILD)/math/test_math_builtin_%: tests/math/test_math_builtin.c templates/math_builtin.c
	$(if $(Q),@echo "  CC      $@ ($(MATH_CC_$*))")
	$(Q)mkdir -p $(@D)
	$(Q)$(MATH_CC_$*) $(CWARN) -Itemplates -o $@ $< -lm

test-math: $(foreach b,$(MATH_RUN),$(BUILD)/math/test_math_builtin_$(b))
	$(Q)rc=0; $(foreach b,$(MATH_BUILDS),$(if $(filter $(b),$(MATH_RUN)),\
	    echo "--- $(MATH_CC_$(b)) (stride $(call math_stride,$(b)))"; \
	    $(BUILD)/math/test_math_builtin_$(b) $(call math_stride,$(b)) || rc=1;,\
	    echo "SKIP $(MATH_CC_$(b)) build of the math test: $(MATH_SKIP_$(b))";)) \
	exit $$rc

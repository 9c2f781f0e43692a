# lenetgen: `make` generates LeNet-5, builds the demo and classifies the sample images;
# `make test` runs every test. Missing tools are installed by tools/ensure-deps.
# V=1 shows full commands.

LUA      ?= lua5.4
CC       ?= gcc
# The strict warning flags, defined once in tools/cwarn.flags (Lua scripts read it through
# tools/cflags.lua).
CWARN    := $(strip $(file < tools/cwarn.flags))
BUILD    := build
GEN_SRCS := gen/lenetgen $(wildcard gen/lg/*.lua gen/lg/ops/*.lua) $(wildcard templates/*)
MODEL    ?= models/lenet5.lua

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Each mk/*.mk fragment adds its test targets to TEST_TARGETS.
TEST_TARGETS :=

.PHONY: all deps test clean generate
# The main job: generate LeNet-5, build the demo, classify the shipped samples (and print
# float and int8 accuracy side by side, mk/accuracy.mk).
all: deps demo accuracy-samples

generate: out/lenet5.c

# One run writes both files; the generator leaves unchanged files untouched.
out/lenet5.c out/lenet5.h &: $(MODEL) models/lenet5.safetensors $(GEN_SRCS) | deps
	$(if $(Q),@echo "  GEN     out/lenet5.c out/lenet5.h")
	$(Q)gen/lenetgen $(MODEL) -o out
	$(Q)touch out/lenet5.c out/lenet5.h

deps:
	$(Q)tools/ensure-deps

include $(sort $(wildcard mk/*.mk))

# Last, so that it checks out/ as the other targets left it (mk/audit.mk).
TEST_TARGETS += check-generated

# make test runs TEST_JOBS suites at a time (tools/run-tests); suites that share build
# files run one after the other in a chain (a+b), the longest chains first;
# check-generated runs last, alone. TEST_JOBS=1 runs them one by one in this order.
TEST_JOBS   ?= 2
TEST_CHAINS := test-firmware+test-footprint+test-firmware-model+bench-smoke
TEST_FIRST  := test-int8 test-audit lint test-harness test-compilers test-property test-split-lenet5 \
               test-int8-mul32
TEST_PLAN   := $(TEST_CHAINS) $(foreach t,$(TEST_FIRST),$(filter $(t),$(TEST_TARGETS))) \
               $(filter-out $(subst +, ,$(TEST_CHAINS)) $(TEST_FIRST) check-generated,$(TEST_TARGETS))

test: deps
	$(Q)tools/run-tests -j $(TEST_JOBS) $(TEST_PLAN) --last check-generated

clean:
	rm -rf $(BUILD) out/*.c out/*.h

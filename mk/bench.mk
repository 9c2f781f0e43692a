# Benchmark: generated code against a nested-loops baseline, the reference
# interpreter and PyTorch, on LeNet-5 and a wider variant.
#   make bench          build every configuration (in parallel, BENCH_JOBS), then measure one
#                       at a time and write bench/results.md, bench/results.csv and
#                       bench/speed_vs_size.png. Builds are cached in build/bench: a re-run
#                       rebuilds only what the generator changed, then measures again.
#   make bench-report   redraw results.md and the chart from results.csv (no measuring)
#   make bench-smoke    the whole pipeline on a tiny network in a few seconds, checked
#                       (part of `make test`; timings are never asserted)
# Knobs: BENCH_NETS="lenet5 lenet5_wide", BENCH_FULL=yes|no (the fully unrolled
# configuration: its compile takes minutes), BENCH_COMPILE_TIMEOUT=seconds per compile,
# BENCH_REPS (timed batches per host program, spread over BENCH_ROUNDS rounds through all the
# programs), BENCH_MIN_BATCH_US (length of one batch),
# BENCH_CPU (the core the measurements are pinned to with taskset), BENCH_JOBS.
#
# A configuration is UNROLL-PLAN-MATH (kernel-fused-libm, ...) or baseline-loops-libm.
# MATH int8 is the network generated with --quantize=int8 (issue 13; --math=builtin for its float
# wrapper), calibrated on build/bench/NET/calibration.safetensors: the first BENCH_CALIB_COUNT
# Fashion-MNIST training images (tools/make-calibration) when BENCH_CALIB_IMAGES_NET is yes (the
# description must say how pixels are scaled: input.normalize), else 64 seeded random inputs
# (tests/firmware/random_calibration.lua). Its host program times
# <name>_infer_int8 and its outputs are checked bit-exact against the integer reference
# (bench/ref_bench.lua --int8), its QEMU images against int8 golden codes (NET/int8/golden.h);
# it is also built for Cortex-M0+ (m0plus, run on mps2-an385) and RV32IMAC at -O2 and -Os.
# BENCH_INT8_VARIANTS: the UNROLL-PLAN pairs measured in int8 (empty: none).
# Files of network NET and configuration U-P-M:
#   build/bench/NET/U-P/gen-M/            generated NAME.c NAME.h (baseline: NAME.h NAME_net.h,
#                                         plus NAME.arch and NAME.safetensors for PyTorch)
#   build/bench/NET/U-P/TARGET-OPT-M/     NAME.o (+ .time: compile "%e %U %S %M", .log), and
#                                         bench (host) or fp.elf and fw.elf (Cortex-M4F) or
#                                         fw-rv32.elf (RV32IMAC, -O2, builtin math only: no libm)
# The m4f directories follow tests/firmware's layout so that tools/footprint reads them.

BENCH_DIR     ?= $(BUILD)/bench
BENCH_RESULTS ?= bench
BENCH_NETS    ?= lenet5 lenet5_wide
BENCH_FULL    ?= yes
BENCH_COMPILE_TIMEOUT ?= 1500
BENCH_REPS    ?= 21
BENCH_ROUNDS  ?= 3
BENCH_MIN_BATCH_US ?= 20000
BENCH_REF_REPS ?= 5
BENCH_CPU     ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) - 1 )))
BENCH_JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_QEMU_TIMEOUT ?= 300
BENCH_TORCH   ?= yes
BENCH_INT8_VARIANTS ?= kernel-fused kernel-layered none-fused none-layered
BENCH_CALIB_COUNT ?= 500
BENCH_TRAIN_IMAGES := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

# ---- the networks ----
BENCH_MODEL_lenet5      := models/lenet5.lua
BENCH_SEED_lenet5       :=
BENCH_IMAGES_lenet5     := yes
BENCH_CALIB_IMAGES_lenet5 := yes
# `full` once, at -O2 (host and Cortex-M4F): its compile takes minutes and gigabytes
BENCH_FULLCFG_lenet5    := full-fused-libm
BENCH_MODEL_lenet5_wide := bench/lenet5_wide.lua
BENCH_SEED_lenet5_wide  := 1
BENCH_IMAGES_lenet5_wide := yes
# random weights and no input.normalize: calibrated on seeded random inputs
BENCH_CALIB_IMAGES_lenet5_wide :=
# no `full` for the wide variant: 4x LeNet-5's MACs, far beyond the time budget
BENCH_FULLCFG_lenet5_wide :=
BENCH_MODEL_bench_tiny  := bench/smoke_tiny.lua
BENCH_SEED_bench_tiny   := 7
BENCH_IMAGES_bench_tiny :=
BENCH_CONFIGS_bench_tiny := kernel-fused-libm none-layered-builtin full-fused-libm baseline-loops-libm \
                            kernel-fused-int8

BENCH_VARIANTS := kernel-fused kernel-layered none-fused none-layered
BENCH_MATHS    := libm builtin
# BENCH_CONFIGS_NET, when set, replaces the full list for that network. `full` comes first so
# that its long compiles start first and everything else is built beside them.
bench_configs = $(or $(BENCH_CONFIGS_$(1)),$(if $(filter yes,$(BENCH_FULL)),$(BENCH_FULLCFG_$(1))) \
                $(foreach v,$(BENCH_VARIANTS),$(foreach m,$(BENCH_MATHS),$(v)-$(m))) baseline-loops-libm \
                $(foreach v,$(BENCH_INT8_VARIANTS),$(v)-int8))

# ---- compilers and flags ----
bench_have = $(shell command -v $(1) >/dev/null 2>&1 && echo yes)
BENCH_HAVE_ARM  := $(and $(call bench_have,arm-none-eabi-gcc),$(wildcard /usr/lib/arm-none-eabi/newlib))
BENCH_HAVE_QEMU := $(call bench_have,qemu-system-arm)
BENCH_HAVE_RV32 := $(call bench_have,riscv64-unknown-elf-gcc)
BENCH_CC_rv32   := riscv64-unknown-elf-gcc
BENCH_ARCH_rv32 := -march=rv32imac -mabi=ilp32 -ffreestanding -ffunction-sections -fdata-sections
BENCH_CC_host   := $(CC)
BENCH_CC_m4f    := arm-none-eabi-gcc
BENCH_CC_m0plus := arm-none-eabi-gcc
BENCH_ARCH_host :=
BENCH_ARCH_m4f  := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
                   -ffunction-sections -fdata-sections -fstack-usage
BENCH_ARCH_m0plus := -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft -ffunction-sections -fdata-sections -fstack-usage
BENCH_DESC_m4f    := Cortex-M4F on QEMU mps2-an386
BENCH_DESC_m0plus := Cortex-M0+ code (ARMv6-M) on QEMU mps2-an385 (Cortex-M3)
BENCH_OPT_O2       := -O2
BENCH_OPT_Os       := -Os
BENCH_OPT_O3native := -O3 -march=native
# full: -O2 only; everything else: host -O2 and -O3 -march=native, Cortex-M4F -O2 and -Os;
# int8 also Cortex-M0+ -O2 and -Os
bench_targets = $(if $(filter full-%,$(1)),$(if $(BENCH_HAVE_ARM),m4f-O2) host-O2,\
                host-O2 host-O3native $(if $(BENCH_HAVE_ARM),m4f-O2 m4f-Os \
                $(if $(filter %-int8,$(1)),m0plus-O2 m0plus-Os))) $(bench_rv32_targets)
# RV32IMAC (no C library: builtin math or int8), -O2 (int8: and -Os), not `full`
bench_rv32_targets = $(if $(and $(BENCH_HAVE_RV32),$(filter %-builtin %-int8,$(1)),$(filter-out full-%,$(1))),\
                     rv32-O2 $(if $(filter %-int8,$(1)),rv32-Os))

bench_w = $(word $(2),$(subst -, ,$(1)))
# configuration -> its directory (without math) and math option
bench_vdir = $(BENCH_DIR)/$(1)/$(call bench_w,$(2),1)-$(call bench_w,$(2),2)
bench_math = $(call bench_w,$(1),3)
bench_upper = $(shell echo $(1) | tr a-z A-Z)
# the golden header's directory of network $(1), configuration $(2): int8 codes for int8
bench_golden = $(BENCH_DIR)/$(1)$(if $(filter %-int8,$(2)),/int8)

# Compile $(1) timed by /usr/bin/time (elapsed, user, system seconds, peak KB) and bounded by
# BENCH_COMPILE_TIMEOUT. A timed-out compile is not retried until its source changes.
define bench_compile
	$(Q)mkdir -p $(@D)
	$(Q)if [ -f $@.timedout ] && [ -z "$$(find $< -newer $@.timedout)" ]; then \
	    echo "  SKIP    $@: compile timed out before (delete $@.timedout to retry)"; exit 1; fi
	$(if $(Q),@echo "  CC      $@")
	$(Q)rm -f $@ $@.timedout; \
	/usr/bin/time -f '%e %U %S %M' -o $@.time timeout $(BENCH_COMPILE_TIMEOUT) $(1) >$@.log 2>&1; \
	st=$$?; if [ $$st -ne 0 ]; then cat $@.log; \
	    if [ $$st -eq 124 ]; then echo "$(BENCH_COMPILE_TIMEOUT)" >$@.timedout; \
	        echo "  TIMEOUT $@ after $(BENCH_COMPILE_TIMEOUT) s"; fi; exit 1; fi
endef

BENCH_ARM_LD = $(if $(filter full-%,$(1)),bench/mps2-an386-psram.ld,tests/firmware/mps2-an386.ld)

# ---- rules per network ----
# $(1) = network name (the description's name)
define BENCH_NET_RULES
$(BENCH_DIR)/$(1)/golden.h: tests/firmware/make_golden.lua tests/harness/lgcheck.lua $(BENCH_MODEL_$(1)) $(GEN_SRCS)
	$$(if $(Q),@echo "  GOLDEN  $$@")
	$(Q)mkdir -p $$(@D)
	$(Q)$(LUA) tests/firmware/make_golden.lua $(BENCH_MODEL_$(1)) $$@ \
	    $(if $(BENCH_SEED_$(1)),--random-weights $(BENCH_SEED_$(1))) \
	    $(if $(BENCH_IMAGES_$(1)),--images models/samples/t10k-first1000-images-idx3-ubyte \
	        --labels models/samples/t10k-first1000-labels-idx1-ubyte --count 8)
$(BENCH_DIR)/$(1)/int8/golden.h: tests/firmware/make_golden.lua $(BENCH_MODEL_$(1)) $(GEN_SRCS) \
        $(BENCH_DIR)/$(1)/calibration.safetensors
	$$(if $(Q),@echo "  GOLDEN  $$@")
	$(Q)mkdir -p $$(@D)
	$(Q)$(LUA) tests/firmware/make_golden.lua $(BENCH_MODEL_$(1)) $$@ --int8 $(BENCH_DIR)/$(1)/calibration.safetensors \
	    $(if $(BENCH_SEED_$(1)),--random-weights $(BENCH_SEED_$(1))) \
	    $(if $(BENCH_IMAGES_$(1)),--images models/samples/t10k-first1000-images-idx3-ubyte \
	        --labels models/samples/t10k-first1000-labels-idx1-ubyte --count 8,--random-count 8)
$(BENCH_DIR)/$(1)/calibration.safetensors: tools/make-calibration tests/firmware/random_calibration.lua $(BENCH_MODEL_$(1))
	$$(if $(Q),@echo "  CALIB   $$@")
	$(Q)mkdir -p $$(@D)
	$(Q)$(if $(BENCH_CALIB_IMAGES_$(1)),\
	    $(LUA) tools/make-calibration $(BENCH_MODEL_$(1)) --images $(BENCH_TRAIN_IMAGES) --count $(BENCH_CALIB_COUNT) -o $$@,\
	    $(LUA) tests/firmware/random_calibration.lua $(BENCH_MODEL_$(1)) $$@ 64 7)
endef

# $(1) = network, $(2) = configuration
define BENCH_CONFIG_RULES
$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/stamp: $(BENCH_MODEL_$(1)) \
        $(wildcard $(BENCH_MODEL_$(1):.lua=.safetensors)) $(GEN_SRCS) \
        $(if $(filter baseline-%,$(2)),bench/export_baseline.lua bench/baseline_loops.c) \
        $(if $(filter %-int8,$(2)),$(BENCH_DIR)/$(1)/calibration.safetensors)
	$$(if $(Q),@echo "  GEN     $$(@D)")
	$(Q)mkdir -p $$(@D)
	$(Q)$(if $(filter baseline-%,$(2)),\
	    cmp -s bench/baseline_loops.c $$(@D)/$(1).c || cp bench/baseline_loops.c $$(@D)/$(1).c; \
	    $(LUA) bench/export_baseline.lua $(BENCH_MODEL_$(1)) -o $$(@D),\
	    $(LUA) gen/lenetgen $(BENCH_MODEL_$(1)) -o $$(@D) --unroll=$(call bench_w,$(2),1) \
	        --plan=$(call bench_w,$(2),2) $(if $(filter %-int8,$(2)),--math=builtin --quantize=int8 \
	            --calibration $(BENCH_DIR)/$(1)/calibration.safetensors,--math=$(call bench_math,$(2)))) \
	    $(if $(BENCH_SEED_$(1)),--random-weights $(BENCH_SEED_$(1))) \
	    $(if $(filter full,$(call bench_w,$(2),1)),--split-bytes=none)
	$(Q)touch $$@
$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/$(1).c \
$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/$(1)_net.h \
$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/$(1).h: $(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/stamp
	@:
.PRECIOUS: $(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/%

$(foreach t,$(call bench_targets,$(2)),$(eval $(call BENCH_TARGET_RULES,$(1),$(2),$(t))))
endef

# $(1) = network, $(2) = configuration, $(3) = TARGET-OPT (host-O2, m4f-Os, ...)
define BENCH_TARGET_RULES
BENCH_BUILD_ALL += $(addprefix $(call bench_vdir,$(1),$(2))/$(3)-$(call bench_math,$(2))/,$(if $(filter host-%,$(3)),bench,$(if $(filter rv32-%,$(3)),fw-rv32.elf,fp.elf fw.elf)))

$(call bench_vdir,$(1),$(2))/$(3)-$(call bench_math,$(2))/$(1).o: \
        $(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/$(1).c \
        $(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2))/$(1).h \
        $(if $(filter baseline-%,$(2)),$(call bench_vdir,$(1),$(2))/gen-libm/$(1)_net.h)
	$$(call bench_compile,$(BENCH_CC_$(call bench_w,$(3),1)) $(BENCH_ARCH_$(call bench_w,$(3),1)) \
	    $(BENCH_OPT_$(call bench_w,$(3),2)) $(CWARN) -I$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2)) \
	    $(if $(filter baseline-%,$(2)),-DBL_NET='"$(1)_net.h"') -c -o $$@ $$<)

$(if $(filter host-%,$(3)),$(eval $(call BENCH_HOST_RULES,$(1),$(2),$(3))),\
  $(if $(filter rv32-%,$(3)),$(eval $(call BENCH_RV32_RULES,$(1),$(2),$(3))),$(eval $(call BENCH_ARM_RULES,$(1),$(2),$(3),$(call bench_w,$(3),1)))))
endef

# the host program: driver + network
define BENCH_HOST_RULES
$(call bench_vdir,$(1),$(2))/host-$(call bench_w,$(3),2)-$(call bench_math,$(2))/bench: \
        $(call bench_vdir,$(1),$(2))/host-$(call bench_w,$(3),2)-$(call bench_math,$(2))/$(1).o bench/driver.c
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$(CC) $(BENCH_OPT_$(call bench_w,$(3),2)) $(CWARN) -I$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2)) \
	    -DBENCH_HEADER='"$(1).h"' -DBENCH_INFER=$(1)_infer$(if $(filter %-int8,$(2)),_int8 -DBENCH_INT8) \
	    -DBENCH_INPUT_SIZE=$(call bench_upper,$(1))_INPUT_SIZE \
	    -DBENCH_OUTPUT_SIZE=$(call bench_upper,$(1))_OUTPUT_SIZE bench/driver.c $$< -lm -o $$@
endef

# Cortex-M4F and Cortex-M0+ ($(4) = m4f or m0plus): the footprint image (tools/footprint) and the
# QEMU image (tests/firmware/harness.c). The int8 footprint image calls only <name>_infer_int8.
define BENCH_ARM_RULES
$(call bench_vdir,$(1),$(2))/$(3)-$(call bench_math,$(2))/fp.elf: \
        $(call bench_vdir,$(1),$(2))/$(3)-$(call bench_math,$(2))/$(1).o \
        tests/firmware/footprint_main.c tests/firmware/startup_arm.S $(call BENCH_ARM_LD,$(2))
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$(BENCH_CC_$(4)) $(BENCH_ARCH_$(4)) $(BENCH_OPT_$(call bench_w,$(3),2)) $(CWARN) \
	    -DFP_HEADER='"$(1).h"' -DFP_INFER=$(1)_infer -DFP_INPUT_SIZE=$(call bench_upper,$(1))_INPUT_SIZE \
	    $(if $(filter %-int8,$(2)),-DFP_INT8=$(1)_infer_int8) \
	    -DFP_OUTPUT_SIZE=$(call bench_upper,$(1))_OUTPUT_SIZE -I$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2)) \
	    -Wl,--gc-sections -nostartfiles --specs=nosys.specs -T $(call BENCH_ARM_LD,$(2)) \
	    tests/firmware/startup_arm.S tests/firmware/footprint_main.c $$< -o $$@ -lm
	$(Q)rm -f $$(@D)/footprint_main.su

$(call bench_vdir,$(1),$(2))/$(3)-$(call bench_math,$(2))/fw.elf: \
        $(call bench_vdir,$(1),$(2))/$(3)-$(call bench_math,$(2))/$(1).o \
        $(call bench_golden,$(1),$(2))/golden.h tests/firmware/harness.c tests/firmware/startup_arm.S $(call BENCH_ARM_LD,$(2))
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$(BENCH_CC_$(4)) $(BENCH_ARCH_$(4)) -O2 $(CWARN) \
	    -DFW_TARGET_DESC='"$(BENCH_DESC_$(4)), $(2) -$(call bench_w,$(3),2)"' \
	    -I$(call bench_golden,$(1),$(2)) -I$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2)) -Wl,--gc-sections \
	    --specs=rdimon.specs -nostartfiles -T $(call BENCH_ARM_LD,$(2)) \
	    tests/firmware/startup_arm.S tests/firmware/harness.c $$< -lm -o $$@
	$(Q)rm -f $$(@D)/harness.su
endef

# RV32IMAC: the QEMU virt image (tests/firmware/harness_rv32.c; FW_RV32_LINK is mk/firmware.mk's,
# read when the recipe runs, since that file is included after this one)
define BENCH_RV32_RULES
$(call bench_vdir,$(1),$(2))/rv32-$(call bench_w,$(3),2)-$(call bench_math,$(2))/fw-rv32.elf: \
        $(call bench_vdir,$(1),$(2))/rv32-$(call bench_w,$(3),2)-$(call bench_math,$(2))/$(1).o \
        $(call bench_golden,$(1),$(2))/golden.h tests/firmware/harness_rv32.c tests/firmware/golden_check.h \
        tests/firmware/startup_rv32.S tests/firmware/rv32-virt.ld
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$$(FW_RV32_LINK) -DFW_TARGET_DESC='"RV32IMAC on QEMU virt, $(2) -$(call bench_w,$(3),2)"' \
	    -I$(call bench_golden,$(1),$(2)) -I$(call bench_vdir,$(1),$(2))/gen-$(call bench_math,$(2)) $$< -lgcc -o $$@
	$(Q)rm -f $$(@D)/harness_rv32.su
endef

BENCH_BUILD_ALL :=
$(foreach n,$(BENCH_NETS),$(eval $(call BENCH_NET_RULES,$(n))))
$(foreach n,$(BENCH_NETS),$(foreach c,$(call bench_configs,$(n)),$(eval $(call BENCH_CONFIG_RULES,$(n),$(c)))))

# what bench/measure.lua measures: NET:MODEL:SEED:CONFIG,CONFIG,...
bench_comma := ,
bench_empty :=
bench_space := $(bench_empty) $(bench_empty)
BENCH_PLAN = $(foreach n,$(BENCH_NETS),$(n):$(BENCH_MODEL_$(n)):$(BENCH_SEED_$(n)):$(subst $(bench_space),$(bench_comma),$(strip $(call bench_configs,$(n)))))

BENCH_MEASURE = $(LUA) bench/measure.lua --dir $(BENCH_DIR) --results $(BENCH_RESULTS) --cpu $(BENCH_CPU) \
    --reps $(BENCH_REPS) --rounds $(BENCH_ROUNDS) --min-batch-us $(BENCH_MIN_BATCH_US) --ref-reps $(BENCH_REF_REPS) \
    --qemu-timeout $(BENCH_QEMU_TIMEOUT) --torch $(BENCH_TORCH) $(BENCH_PLAN)

.PHONY: bench bench-run bench-build bench-measure bench-report bench-smoke bench-deps
TEST_TARGETS += bench-smoke

bench-deps: deps
	$(Q)tools/ensure-deps time:/usr/bin/time valgrind:valgrind gnuplot-nox:gnuplot \
	    gcc-arm-none-eabi:arm-none-eabi-gcc libnewlib-arm-none-eabi:/usr/lib/arm-none-eabi/newlib \
	    qemu-system-arm:qemu-system-arm gcc-riscv64-unknown-elf:riscv64-unknown-elf-gcc \
	    qemu-system-misc:qemu-system-riscv32 \
	    $(if $(filter yes,$(BENCH_TORCH)),python3-torch:/usr/lib/python3/dist-packages/torch)

# Building runs in parallel; a configuration that fails to build (or times out) is
# reported in the results, after the others are measured.
bench-build: $(BENCH_BUILD_ALL)

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory bench-run

bench-run:
	$(Q)start=$$(date +%s); \
	$(MAKE) --no-print-directory -k -j$(BENCH_JOBS) bench-build; \
	echo "  (build phase: $$(( $$(date +%s) - start )) s)"; \
	$(BENCH_MEASURE) && $(LUA) bench/report.lua --dir $(BENCH_DIR) --results $(BENCH_RESULTS); \
	st=$$?; echo "  (make bench: $$(( $$(date +%s) - start )) s)"; exit $$st

bench-measure:
	$(Q)$(BENCH_MEASURE)

bench-report:
	$(Q)$(LUA) bench/report.lua --dir $(BENCH_DIR) --results $(BENCH_RESULTS)

# The smoke test: the tiny network through every step, short timings, results in
# build/bench-smoke, then bench/check_smoke.lua checks the files (not the speed).
bench-smoke:
	$(Q)mkdir -p $(BUILD)/bench-smoke
	$(Q)$(MAKE) --no-print-directory bench-run BENCH_NETS=bench_tiny BENCH_DIR=$(BUILD)/bench-smoke \
	    BENCH_RESULTS=$(BUILD)/bench-smoke BENCH_REPS=3 BENCH_MIN_BATCH_US=2000 BENCH_REF_REPS=3 \
	    BENCH_QEMU_TIMEOUT=60 BENCH_COMPILE_TIMEOUT=120 BENCH_TORCH=no > $(BUILD)/bench-smoke/make.log 2>&1 \
	    || { cat $(BUILD)/bench-smoke/make.log; echo "bench-smoke: make bench failed (log above)"; }
	$(Q)$(LUA) bench/check_smoke.lua $(BUILD)/bench-smoke bench_tiny

# Firmware: the generated LeNet-5 built for microcontrollers.
#   make firmware        build for Cortex-M4F, Cortex-M0+ and RV32IMAC at -O2 and -Os and
#                        print the footprint table (tools/footprint): code, weights, static
#                        RAM, worst-case stack of the inference call
#   make firmware-test   run the generated LeNet-5 under QEMU, Cortex-M4F (mps2-an386) and
#                        Cortex-M0+ code (on the Cortex-M3 mps2-an385), libm and builtin math,
#                        and RV32IMAC (virt, -O2 and -Os, builtin math), against the reference
#                        interpreter's outputs; prints instructions per inference (-icount:
#                        instructions, not cycles). Cortex-M4F also at -Ofast (m4f-Ofast-*):
#                        users may build the network so.
#   make firmware-test-rv32  only the RV32IMAC part
#   FW_MODEL=path.lua    any description instead of LeNet-5 (firmware, firmware-test);
#                        FW_GEN_ARGS="--random-weights 3 --unroll=none" adds generator options
#                        (--math comes from the configuration); FW_NAME is the description's
#                        name, read from `gen/lenetgen --explain`. Files in build/firmware-NAME/.
#                        Golden inputs: 8 Fashion-MNIST images for 1x28x28 inputs
#                        (FW_IMAGES=yes|no), the standard synthetic ones, and 8 more random
#                        ones in [0, 1] for any other shape.
#   make firmware-profile  instructions per function of one inference on QEMU
#                        (tools/m4-profile; FW_PROFILE=m4f-O2-builtin, FW_MIX=FUNCTION for
#                        its instruction mix)
#   make test-footprint  make firmware as a test (the footprint table must add up)
# A configuration is TARGET-OPT-MATH, e.g. m4f-O2-libm; its files are in build/firmware/CONFIG/.
# MATH int8 is the network generated with --quantize=int8 (gen-int8/, --math=builtin for its
# float wrapper), calibrated on the first FW_CALIB_COUNT Fashion-MNIST *training* images
# (tools/make-calibration; 64 seeded random inputs, tests/firmware/random_calibration.lua, for a
# model not fed 28x28 images);
# its golden header (int8/golden.h) holds int8 codes from the integer reference
# (gen/lg/reference_int8.lua), compared bit-exact; the image calls <name>_infer_int8.
# firmware-test also runs an M4F int8 image with one golden code moved by one step (must fail)
# and tests/firmware/test_nofloat.lua on the M0+ and RV32 int8 footprint images (fp.elf, which
# call only <name>_infer_int8): no soft-float routine may be linked.

FW_MODEL   ?= models/lenet5.lua
FW_GEN_ARGS ?=
fw_comma   := ,
# Another model, or generator options: its name and input shape from the first line of
# --explain, "MODEL: NAME, input CxHxW" (on a bad description that line is the generator's
# error, which the GEN step then prints).
FW_EXPLAIN := $(if $(filter-out models/lenet5.lua,$(FW_MODEL))$(strip $(FW_GEN_ARGS)),\
                $(shell $(LUA) gen/lenetgen --explain $(FW_MODEL) $(FW_GEN_ARGS) 2>&1 | grep -v ': note: ' | head -n 1))
FW_NAME    ?= $(if $(FW_EXPLAIN),$(or $(if $(filter input,$(word 3,$(FW_EXPLAIN))),$(subst $(fw_comma),,$(word 2,$(FW_EXPLAIN)))),$(basename $(notdir $(FW_MODEL)))),lenet5)
FW_IMAGES  ?= $(if $(FW_EXPLAIN),$(if $(filter 1x28x28,$(word 4,$(FW_EXPLAIN))),yes,no),yes)
FW_DIR     := $(BUILD)/firmware$(if $(FW_EXPLAIN),-$(FW_NAME))
FW_WEIGHTS := $(wildcard $(FW_MODEL:.lua=.safetensors))
FW_SAMPLES := models/samples/t10k-first1000-images-idx3-ubyte \
              models/samples/t10k-first1000-labels-idx1-ubyte
FW_TIMEOUT ?= 120
FW_TRAIN_IMAGES := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
FW_CALIB_COUNT ?= 500
FW_CALIB   := $(FW_DIR)/calibration.safetensors

# Targets: compiler, architecture flags, link recipe kind.
FW_CC_m4f      := arm-none-eabi-gcc
FW_ARCH_m4f    := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
FW_CC_m0plus   := arm-none-eabi-gcc
FW_ARCH_m0plus := -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft
FW_CC_rv32imac := riscv64-unknown-elf-gcc
FW_ARCH_rv32imac := -march=rv32imac -mabi=ilp32 -ffreestanding

# RV32 has no C library here: builtin math only.
FW_CONFIGS := m4f-O2-libm m4f-Os-libm m4f-O2-builtin m4f-Os-builtin \
              m0plus-O2-libm m0plus-Os-libm m0plus-O2-builtin m0plus-Os-builtin \
              rv32imac-O2-builtin rv32imac-Os-builtin \
              m4f-O2-int8 m4f-Os-int8 m0plus-O2-int8 m0plus-Os-int8 rv32imac-O2-int8 rv32imac-Os-int8
# -Ofast (-ffast-math): the generated C must stay correct when a user compiles it so;
# run on QEMU only, not part of the footprint table.
FW_FAST_CONFIGS := m4f-Ofast-libm m4f-Ofast-builtin
FW_TEST_CONFIGS := m4f-O2-libm m4f-O2-builtin m0plus-O2-libm m0plus-O2-builtin $(FW_FAST_CONFIGS) \
                   m4f-O2-int8 m4f-Os-int8 m0plus-O2-int8
# the Cortex-M4F image tools/m4-profile is checked on (and `make firmware-profile` reads)
FW_PROFILE ?= m4f-O2-builtin
# QEMU board per target: no Cortex-M0+ board exists, so ARMv6-M code runs on the Cortex-M3
# mps2-an385 (same memory map, same SysTick), which executes exactly the same instructions.
FW_BOARD_m4f    := mps2-an386
FW_DESC_m4f     := Cortex-M4F on QEMU mps2-an386
FW_BOARD_m0plus := mps2-an385
FW_DESC_m0plus  := Cortex-M0+ code (ARMv6-M) on QEMU mps2-an385 (Cortex-M3)

fw_target = $(word 1,$(subst -, ,$(1)))
fw_opt    = $(word 2,$(subst -, ,$(1)))
fw_math   = $(word 3,$(subst -, ,$(1)))
fw_have   = $(shell command -v $(1) >/dev/null 2>&1 && echo yes)
# configurations whose compiler is installed; the others are reported missing by tools/footprint
FW_BUILDABLE := $(foreach c,$(FW_CONFIGS),$(if $(call fw_have,$(FW_CC_$(call fw_target,$(c)))),$(c)))

FW_CFLAGS  = $(CWARN) -ffunction-sections -fdata-sections -fstack-usage
# the footprint image of a configuration $(1): the int8 one calls only <name>_infer_int8
fw_fp_defs = $(FW_FP_DEFS) $(if $(filter int8,$(call fw_math,$(1))),-DFP_INT8=$(FW_NAME)_infer_int8)
# where a configuration's golden.h is: int8 codes for the int8 network
fw_golden  = $(FW_DIR)$(if $(filter int8,$(call fw_math,$(1))),/int8)
FW_FP_DEFS = -DFP_HEADER='"$(FW_NAME).h"' -DFP_INFER=$(FW_NAME)_infer \
             -DFP_INPUT_SIZE=$(shell echo $(FW_NAME) | tr a-z A-Z)_INPUT_SIZE \
             -DFP_OUTPUT_SIZE=$(shell echo $(FW_NAME) | tr a-z A-Z)_OUTPUT_SIZE

.PHONY: firmware firmware-test test-firmware test-footprint
TEST_TARGETS += test-firmware test-footprint

# ---- generated sources, one directory per math option ----
# The generator leaves unchanged files untouched, so the stamp records the run and the
# objects are rebuilt only when the C really changed.
$(FW_DIR)/gen-%/stamp: $(FW_MODEL) $(FW_WEIGHTS) $(GEN_SRCS) $(FW_DIR)/options
	$(if $(Q),@echo "  GEN     $(@D)/$(FW_NAME).c .h")
	$(Q)mkdir -p $(@D)
	$(Q)$(LUA) gen/lenetgen $(FW_MODEL) -o $(@D) $(FW_GEN_ARGS) --math=$*
	$(Q)test -f $(@D)/$(FW_NAME).c || { echo "$(FW_MODEL): error: no $(FW_NAME).c generated:" \
	    "FW_NAME must be the description's name"; exit 1; }
	$(Q)touch $@
# the int8 network (an explicit rule: it wins over the pattern above)
$(FW_DIR)/gen-int8/stamp: $(FW_MODEL) $(FW_WEIGHTS) $(GEN_SRCS) $(FW_DIR)/options $(FW_CALIB)
	$(if $(Q),@echo "  GEN     $(@D)/$(FW_NAME).c .h (int8)")
	$(Q)mkdir -p $(@D)
	$(Q)$(LUA) gen/lenetgen $(FW_MODEL) -o $(@D) $(FW_GEN_ARGS) --math=builtin --quantize=int8 \
	    --calibration $(FW_CALIB)
	$(Q)touch $@
$(FW_CALIB): tools/make-calibration tests/firmware/random_calibration.lua $(FW_MODEL) $(FW_DIR)/options
	$(if $(Q),@echo "  CALIB   $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(if $(filter yes,$(FW_IMAGES)),\
	    $(LUA) tools/make-calibration $(FW_MODEL) --images $(FW_TRAIN_IMAGES) --count $(FW_CALIB_COUNT) -o $@,\
	    $(LUA) tests/firmware/random_calibration.lua $(FW_MODEL) $@ 64 7)
# int8 golden codes, and with one expected code moved by one step
$(FW_DIR)/int8/golden.h $(FW_DIR)/int8-perturbed/golden.h: tests/firmware/make_golden.lua $(FW_MODEL) \
        $(FW_WEIGHTS) $(FW_SAMPLES) $(GEN_SRCS) $(FW_DIR)/options $(FW_CALIB)
	$(if $(Q),@echo "  GOLDEN  $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(LUA) tests/firmware/make_golden.lua $(FW_MODEL) $@ --gen-args '$(FW_GEN_ARGS)' --int8 $(FW_CALIB) \
	    $(if $(filter %-perturbed/golden.h,$@),--perturb) \
	    $(if $(filter yes,$(FW_IMAGES)),--images $(word 1,$(FW_SAMPLES)) --labels $(word 2,$(FW_SAMPLES)) --count 8,\
	        --random-count 8)
$(FW_DIR)/gen-%/$(FW_NAME).c $(FW_DIR)/gen-%/$(FW_NAME).h: $(FW_DIR)/gen-%/stamp
	@:
.PRECIOUS: $(FW_DIR)/gen-%/stamp $(FW_DIR)/gen-%/$(FW_NAME).c $(FW_DIR)/gen-%/$(FW_NAME).h

# The model and generator options the files in FW_DIR were made from: rewritten only when
# they change, so that a new FW_GEN_ARGS regenerates the C and the golden outputs.
$(FW_DIR)/options: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)[ "$$(cat $@ 2>/dev/null)" = '$(FW_MODEL) $(FW_GEN_ARGS)' ] || echo '$(FW_MODEL) $(FW_GEN_ARGS)' >$@
.PHONY: FORCE
FORCE:

# golden inputs and the reference interpreter's outputs
$(FW_DIR)/golden.h: tests/firmware/make_golden.lua tests/harness/lgcheck.lua $(FW_MODEL) \
                    $(FW_WEIGHTS) $(FW_SAMPLES) $(GEN_SRCS) $(FW_DIR)/options
	$(if $(Q),@echo "  GOLDEN  $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(LUA) tests/firmware/make_golden.lua $(FW_MODEL) $@ --gen-args '$(FW_GEN_ARGS)' \
	    $(if $(filter yes,$(FW_IMAGES)),--images $(word 1,$(FW_SAMPLES)) --labels $(word 2,$(FW_SAMPLES)) --count 8,\
	        --random-count 8)

# ---- per configuration: the network's object, the footprint image, the QEMU image ----
define FW_CONFIG_RULES
$(FW_DIR)/$(1)/$(FW_NAME).o: $(FW_DIR)/gen-$(call fw_math,$(1))/$(FW_NAME).c \
                             $(FW_DIR)/gen-$(call fw_math,$(1))/$(FW_NAME).h
	$$(if $(Q),@echo "  CC      $$@")
	$(Q)mkdir -p $$(@D)
	$(Q)$(FW_CC_$(call fw_target,$(1))) $(FW_ARCH_$(call fw_target,$(1))) -$(call fw_opt,$(1)) \
	    $(FW_CFLAGS) -c -o $$@ $$<

$(FW_DIR)/$(1)/fp.elf: $(FW_DIR)/$(1)/$(FW_NAME).o tests/firmware/footprint_main.c \
                       $(if $(filter rv32%,$(1)),tests/firmware/startup_rv32.S tests/firmware/rv32.ld,tests/firmware/startup_arm.S tests/firmware/mps2-an386.ld)
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$(FW_CC_$(call fw_target,$(1))) $(FW_ARCH_$(call fw_target,$(1))) -$(call fw_opt,$(1)) \
	    $(CWARN) $(call fw_fp_defs,$(1)) -I$(FW_DIR)/gen-$(call fw_math,$(1)) -Wl,--gc-sections \
	    $(if $(filter rv32%,$(1)),\
	        -nostdlib -T tests/firmware/rv32.ld tests/firmware/startup_rv32.S,\
	        -nostartfiles --specs=nosys.specs -T tests/firmware/mps2-an386.ld tests/firmware/startup_arm.S) \
	    tests/firmware/footprint_main.c $$< -o $$@ $(if $(filter rv32%,$(1)),-lgcc,-lm)

$(FW_DIR)/$(1)/fw.elf: $(FW_DIR)/$(1)/$(FW_NAME).o $(call fw_golden,$(1))/golden.h tests/firmware/harness.c \
                       tests/firmware/golden_check.h tests/firmware/startup_arm.S tests/firmware/mps2-an386.ld
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$(FW_CC_$(call fw_target,$(1))) $(FW_ARCH_$(call fw_target,$(1))) -O2 $(CWARN) \
	    -DFW_TARGET_DESC='"$(FW_DESC_$(call fw_target,$(1)))"' \
	    -I$(call fw_golden,$(1)) -I$(FW_DIR)/gen-$(call fw_math,$(1)) -Wl,--gc-sections \
	    --specs=rdimon.specs -nostartfiles -T tests/firmware/mps2-an386.ld \
	    tests/firmware/startup_arm.S tests/firmware/harness.c $$< -lm -o $$@

$(FW_DIR)/$(1)/mathbench.elf: tests/firmware/mathbench.c templates/math_builtin.c \
                              tests/firmware/startup_arm.S tests/firmware/mps2-an386.ld
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)mkdir -p $$(@D)
	$(Q)$(FW_CC_$(call fw_target,$(1))) $(FW_ARCH_$(call fw_target,$(1))) -$(call fw_opt,$(1)) $(CWARN) \
	    -DFW_TARGET_DESC='"$(FW_DESC_$(call fw_target,$(1))), -$(call fw_opt,$(1))"' -Itemplates \
	    --specs=rdimon.specs -nostartfiles -T tests/firmware/mps2-an386.ld \
	    tests/firmware/startup_arm.S $$< -lm -o $$@
endef
$(foreach c,$(FW_CONFIGS) $(FW_FAST_CONFIGS),$(eval $(call FW_CONFIG_RULES,$(c))))

# ---- verbs ----
# A configuration that fails to build is reported in the table (and fails the target),
# after the others are built and measured.
firmware:
	-$(Q)$(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory -k fw-images
	$(Q)$(LUA) tools/footprint --dir $(FW_DIR) --name $(FW_NAME) \
	    $(foreach c,$(FW_CONFIGS),$(c):$(FW_CC_$(call fw_target,$(c))))

.PHONY: fw-images
fw-images: $(foreach c,$(FW_BUILDABLE),$(FW_DIR)/$(c)/fp.elf)

FW_QEMU = qemu-system-arm -nographic -monitor none -serial none \
          -semihosting-config enable=on,target=native -icount shift=0

# Each image prints its own "N passed, N failed"; a crash, a timeout or a non-zero exit
# status counts as a failure too.
# mathbench (per-call cost of expf, sigmoid, tanhf, libm against builtin) only informs.
FW_BENCH_CONFIGS := m4f-O2-libm m4f-Os-libm m0plus-O2-libm

firmware-test: $(foreach c,$(FW_TEST_CONFIGS) $(FW_PROFILE),$(FW_DIR)/$(c)/fw.elf) \
               $(foreach c,$(FW_BENCH_CONFIGS),$(FW_DIR)/$(c)/mathbench.elf) \
               $(FW_DIR)/m4f-O2-builtin/perturbed.elf $(FW_DIR)/m4f-O2-int8/perturbed.elf \
               $(FW_DIR)/m0plus-O2-int8/fp.elf $(FW_DIR)/m0plus-O2-builtin/fp.elf
	$(Q)rc=0; $(foreach c,$(FW_TEST_CONFIGS),\
	    echo "--- $(c)"; \
	    timeout $(FW_TIMEOUT) $(FW_QEMU) -M $(FW_BOARD_$(call fw_target,$(c))) -kernel $(FW_DIR)/$(c)/fw.elf; \
	    st=$$?; if [ $$st -ne 0 ]; then echo "FAIL $(c): exit status $$st"; rc=1; fi;) \
	$(foreach c,$(FW_BENCH_CONFIGS),\
	    timeout $(FW_TIMEOUT) $(FW_QEMU) -M $(FW_BOARD_$(call fw_target,$(c))) -kernel $(FW_DIR)/$(c)/mathbench.elf \
	        || { echo "FAIL $(c) mathbench"; rc=1; };) \
	echo "--- tools/m4-profile on $(FW_PROFILE)"; \
	$(if $(FW_EXPLAIN),echo "SKIP the profile's 1 % agreement is checked on LeNet-5 only (tiny networks miss it)";,\
	    timeout $(FW_TIMEOUT) $(LUA) tests/firmware/test_profile.lua $(FW_DIR)/$(FW_PROFILE)/fw.elf $(FW_NAME) || rc=1;) \
	$(call fw_expect_mismatch,m4f-O2-builtin,$(FW_QEMU) -M mps2-an386 -kernel $(FW_DIR)/m4f-O2-builtin/perturbed.elf); \
	$(call fw_expect_mismatch,m4f-O2-int8,$(FW_QEMU) -M mps2-an386 -kernel $(FW_DIR)/m4f-O2-int8/perturbed.elf); \
	echo "--- m0plus-O2-int8: _infer_int8 links no soft-float routine"; \
	$(LUA) tests/firmware/test_nofloat.lua arm-none-eabi-nm $(FW_DIR)/m0plus-O2-int8/fp.elf \
	    $(FW_DIR)/m0plus-O2-builtin/fp.elf || rc=1; \
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory firmware-test-rv32 || rc=1; \
	exit $$rc

# ---- RV32IMAC on QEMU virt ----
# Freestanding (no C library): tests/firmware/harness_rv32.c prints through the UART, counts
# with rdinstret and exits through the SiFive test device; startup_rv32.S, rv32-virt.ld.
# The harness is built at -O2; the network's object is the configuration's.
FW_RV32_TEST_CONFIGS := rv32imac-O2-builtin rv32imac-Os-builtin rv32imac-O2-int8 rv32imac-Os-int8
FW_QEMU_RV32 = qemu-system-riscv32 -M virt -bios none -nographic -monitor none -icount shift=0
FW_RV32_LINK = $(FW_CC_rv32imac) $(FW_ARCH_rv32imac) -O2 $(CWARN) -Wl,--gc-sections \
    -Wl,--no-warn-rwx-segments -nostdlib -T tests/firmware/rv32-virt.ld tests/firmware/startup_rv32.S \
    tests/firmware/harness_rv32.c
FW_RV32_DEPS = tests/firmware/harness_rv32.c tests/firmware/golden_check.h \
    tests/firmware/startup_rv32.S tests/firmware/rv32-virt.ld

define FW_RV32_RULES
$(FW_DIR)/$(1)/fw-rv32.elf: $(FW_DIR)/$(1)/$(FW_NAME).o $(call fw_golden,$(1))/golden.h $(FW_RV32_DEPS)
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$(FW_RV32_LINK) -DFW_TARGET_DESC='"RV32IMAC on QEMU virt, network -$(call fw_opt,$(1))"' \
	    -I$(call fw_golden,$(1)) -I$(FW_DIR)/gen-$(call fw_math,$(1)) $$< -lgcc -o $$@
endef
$(foreach c,$(FW_RV32_TEST_CONFIGS),$(eval $(call FW_RV32_RULES,$(c))))

# golden.h with one expected value perturbed (see fw_expect_mismatch)
$(FW_DIR)/perturbed/golden.h: tests/firmware/make_golden.lua tests/harness/lgcheck.lua $(FW_MODEL) \
                              $(FW_WEIGHTS) $(GEN_SRCS) $(FW_DIR)/options
	$(if $(Q),@echo "  GOLDEN  $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(LUA) tests/firmware/make_golden.lua $(FW_MODEL) $@ --gen-args '$(FW_GEN_ARGS)' --perturb

$(FW_DIR)/rv32imac-O2-builtin/perturbed-rv32.elf: $(FW_DIR)/rv32imac-O2-builtin/$(FW_NAME).o \
                                                  $(FW_DIR)/perturbed/golden.h $(FW_RV32_DEPS)
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(FW_RV32_LINK) -I$(FW_DIR)/perturbed -I$(FW_DIR)/gen-builtin $< -lgcc -o $@

# $(1) = Cortex-M4F configuration, $(2) = the directory of its perturbed golden.h
define FW_PERTURBED_RULE
$(FW_DIR)/$(1)/perturbed.elf: $(FW_DIR)/$(1)/$(FW_NAME).o $(2)/golden.h \
                              tests/firmware/harness.c tests/firmware/golden_check.h \
                              tests/firmware/startup_arm.S tests/firmware/mps2-an386.ld
	$$(if $(Q),@echo "  LINK    $$@")
	$(Q)$(FW_CC_m4f) $(FW_ARCH_m4f) -O2 $(CWARN) -I$(2) -I$(FW_DIR)/gen-$(call fw_math,$(1)) \
	    -Wl,--gc-sections --specs=rdimon.specs -nostartfiles -T tests/firmware/mps2-an386.ld \
	    tests/firmware/startup_arm.S tests/firmware/harness.c $$< -lm -o $$@
endef
$(eval $(call FW_PERTURBED_RULE,m4f-O2-builtin,$(FW_DIR)/perturbed))
$(eval $(call FW_PERTURBED_RULE,m4f-O2-int8,$(FW_DIR)/int8-perturbed))

# $(1) = what, $(2) = QEMU command line. The image's own output is indented so that its
# "N passed, N failed" line is not counted by tools/run-tests.
fw_expect_mismatch = echo "--- $(1): a mismatch must fail"; out=$$(timeout $(FW_TIMEOUT) $(2) 2>&1); st=$$?; \
    if [ $$st -eq 1 ] && printf '%s\n' "$$out" | grep -q '^FAIL .*(perturbed)'; then \
        echo "ok   $(1): a perturbed expected value fails the image (exit status 1)"; echo "1 passed, 0 failed"; \
    else printf '%s\n' "$$out" | sed 's/^/    | /'; \
        echo "FAIL $(1): a perturbed expected value gave exit status $$st (expected 1 and a FAIL line)"; \
        echo "0 passed, 1 failed"; rc=1; fi

# The test of the tests: images whose golden header has one expected value moved by 100
# times the tolerance (make_golden.lua --perturb, synthetic inputs only) must fail, with
# exit status 1 and a FAIL line (on Cortex-M4F in firmware-test, on RV32 here).
# Needs riscv64-unknown-elf-gcc and qemu-system-riscv32 (Debian gcc-riscv64-unknown-elf,
# qemu-system-misc): SKIP line without them.
.PHONY: firmware-test-rv32 fw-test-rv32-run
firmware-test-rv32:
	$(Q)if ! command -v qemu-system-riscv32 >/dev/null 2>&1 || ! command -v $(FW_CC_rv32imac) >/dev/null 2>&1; then \
	    echo "SKIP firmware-test-rv32: needs qemu-system-riscv32 and $(FW_CC_rv32imac)" \
	         "(apt-get install qemu-system-misc gcc-riscv64-unknown-elf)"; \
	else $(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory fw-test-rv32-run; fi

fw-test-rv32-run: $(foreach c,$(FW_RV32_TEST_CONFIGS),$(FW_DIR)/$(c)/fw-rv32.elf) \
                  $(FW_DIR)/rv32imac-O2-builtin/perturbed-rv32.elf \
                  $(FW_DIR)/rv32imac-O2-int8/fp.elf $(FW_DIR)/rv32imac-O2-builtin/fp.elf
	$(Q)rc=0; $(foreach c,$(FW_RV32_TEST_CONFIGS),\
	    echo "--- $(c)"; \
	    timeout $(FW_TIMEOUT) $(FW_QEMU_RV32) -kernel $(FW_DIR)/$(c)/fw-rv32.elf; \
	    st=$$?; if [ $$st -ne 0 ]; then echo "FAIL $(c): exit status $$st"; rc=1; fi;) \
	$(call fw_expect_mismatch,rv32imac-O2-builtin,$(FW_QEMU_RV32) -kernel $(FW_DIR)/rv32imac-O2-builtin/perturbed-rv32.elf); \
	echo "--- rv32imac-O2-int8: _infer_int8 links no soft-float routine"; \
	$(LUA) tests/firmware/test_nofloat.lua riscv64-unknown-elf-nm $(FW_DIR)/rv32imac-O2-int8/fp.elf \
	    $(FW_DIR)/rv32imac-O2-builtin/fp.elf || rc=1; \
	exit $$rc

.PHONY: firmware-profile
firmware-profile: $(FW_DIR)/$(FW_PROFILE)/fw.elf
	$(Q)$(LUA) tools/m4-profile --infer $(FW_NAME)_infer$(if $(filter int8,$(call fw_math,$(FW_PROFILE))),_int8) $(if $(FW_MIX),--mix $(FW_MIX)) $<

# make firmware as a test: tools/footprint fails when the weights in an object do not add up
# to the header's NAME_WEIGHT_BYTES, or a call graph cannot be followed.
test-footprint:
	$(Q)if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then \
	    echo "SKIP test-footprint: needs arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"; \
	elif $(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory firmware; then \
	    echo "1 passed, 0 failed"; \
	else echo "FAIL make firmware"; echo "0 passed, 1 failed"; exit 1; fi

test-firmware:
	$(Q)if ! command -v qemu-system-arm >/dev/null 2>&1 || ! command -v arm-none-eabi-gcc >/dev/null 2>&1 \
	    || [ "$$(arm-none-eabi-gcc -print-file-name=rdimon.specs)" = rdimon.specs ]; then \
	    echo "SKIP test-firmware: needs qemu-system-arm, arm-none-eabi-gcc and newlib" \
	         "(apt-get install qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi)"; \
	    $(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory firmware-test-rv32; \
	else $(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory firmware-test; fi

# firmware-test on another description through FW_MODEL: 3x32x32 input (random inputs, no
# images), ReLU, max pooling, tanh, the generator's random weights.
TEST_TARGETS += test-firmware-model
.PHONY: test-firmware-model
test-firmware-model:
	$(Q)$(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory test-firmware \
	    FW_MODEL=tests/firmware/lenet5_rgb.lua FW_GEN_ARGS="--random-weights 5"

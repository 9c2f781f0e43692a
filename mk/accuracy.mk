# Accuracy of LeNet-5, float against --quantize=int8 (a figure, never a timed or pass/fail test).
#   make accuracy-samples  both on the 1,000 shipped sample images (part of `make`)
#   make accuracy          both on the full 10,000 Fashion-MNIST test images (Debian
#                          dataset-fashion-mnist), and int8's distance to float (target:
#                          within 0.5 point)
# The int8 network (build/int8/lenet5.{c,h}) is calibrated on the first ACC_CALIB_COUNT
# Fashion-MNIST *training* images (tools/make-calibration): never on test images.
# tests/accuracy/accuracy.c runs a build through its float API (<name>_infer) on the host.

ACC_DIR         := $(BUILD)/accuracy
ACC_DATASET     := /usr/share/datasets/fashion-mnist
ACC_CALIB_COUNT ?= 500
ACC_COMPILE      = $(CC) -O2 $(CWARN) -Idemo

.PHONY: accuracy accuracy-samples

accuracy-samples: $(ACC_DIR)/accuracy-float $(ACC_DIR)/accuracy-int8
	$(Q)echo "Accuracy on the 1,000 sample images (models/samples), float and int8 side by side:"
	$(Q)$(ACC_DIR)/accuracy-float "  float" $(DEMO_SAMPLES)
	$(Q)$(ACC_DIR)/accuracy-int8 "  int8 " $(DEMO_SAMPLES)

accuracy: $(ACC_DIR)/accuracy-float $(ACC_DIR)/accuracy-int8 \
          $(ACC_DIR)/t10k-images-idx3-ubyte $(ACC_DIR)/t10k-labels-idx1-ubyte
	$(Q)echo "Accuracy on the 10,000 Fashion-MNIST test images ($(ACC_DATASET)):"
	$(Q)f=$$($(ACC_DIR)/accuracy-float "  float" $(ACC_DIR)/t10k-images-idx3-ubyte $(ACC_DIR)/t10k-labels-idx1-ubyte) \
	    && i=$$($(ACC_DIR)/accuracy-int8 "  int8 " $(ACC_DIR)/t10k-images-idx3-ubyte $(ACC_DIR)/t10k-labels-idx1-ubyte) \
	    && echo "$$f" && echo "$$i" \
	    && printf '%s\n%s\n' "$$f" "$$i" | awk '{ a[NR] = $$NF } END { d = (a[2] - a[1]) * 100; \
	        printf "  int8 - float: %+.2f points (target: within 0.5 point, %s)\n", d, (d >= -0.5 ? "met" : "NOT met") }'

$(ACC_DIR)/t10k-%: $(ACC_DATASET)/t10k-%.gz
	$(Q)mkdir -p $(@D)
	$(Q)gzip -dc $< >$@.tmp && mv $@.tmp $@

$(ACC_DIR)/calibration.safetensors: tools/make-calibration $(MODEL)
	$(if $(Q),@echo "  CALIB   $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(LUA) tools/make-calibration $(MODEL) --images $(ACC_DATASET)/train-images-idx3-ubyte.gz \
	    --count $(ACC_CALIB_COUNT) -o $@

$(BUILD)/int8/lenet5.c $(BUILD)/int8/lenet5.h &: $(MODEL) models/lenet5.safetensors $(GEN_SRCS) \
                                                 $(ACC_DIR)/calibration.safetensors
	$(if $(Q),@echo "  GEN     $(BUILD)/int8/lenet5.c .h (int8)")
	$(Q)mkdir -p $(BUILD)/int8
	$(Q)gen/lenetgen $(MODEL) -o $(BUILD)/int8 --quantize=int8 --calibration $(ACC_DIR)/calibration.safetensors
	$(Q)touch $(BUILD)/int8/lenet5.c $(BUILD)/int8/lenet5.h

$(ACC_DIR)/accuracy-float: tests/accuracy/accuracy.c demo/images.c demo/images.h out/lenet5.c out/lenet5.h
	$(if $(Q),@echo "  CC      $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(ACC_COMPILE) -Iout -o $@ tests/accuracy/accuracy.c demo/images.c out/lenet5.c -lm

$(ACC_DIR)/accuracy-int8: tests/accuracy/accuracy.c demo/images.c demo/images.h $(BUILD)/int8/lenet5.c \
                          $(BUILD)/int8/lenet5.h
	$(if $(Q),@echo "  CC      $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(ACC_COMPILE) -I$(BUILD)/int8 -o $@ tests/accuracy/accuracy.c demo/images.c $(BUILD)/int8/lenet5.c -lm

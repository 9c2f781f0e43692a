# Demo: build/lenetgen-demo runs the generated LeNet-5 (out/lenet5.{c,h}, produced by the top
# Makefile's generation rule) on the shipped Fashion-MNIST sample.
#   make demo        classify the 1,000 sample images: accuracy, per-class accuracy, confusion
#                    matrix, median time per inference
#   make test-demo   generated C versus PyTorch's golden vectors, and the demo's PGM errors
# DEMO_OUT selects the directory holding lenet5.{c,h} (default out).

DEMO_OUT     ?= out
DEMO_CFLAGS  ?= -O2
DEMO_SAMPLES := models/samples/t10k-first1000-images-idx3-ubyte \
                models/samples/t10k-first1000-labels-idx1-ubyte
DEMO_GOLDEN  := tests/golden/lenet5-logits-first300.txt \
                tests/golden/lenet5-predictions-first1000.txt \
                tests/golden/lenet5-summary.txt
DEMO_OBJS    := $(patsubst demo/%.c,$(BUILD)/demo/%.o,$(sort $(wildcard demo/*.c)))
DEMO_COMPILE  = $(CC) $(DEMO_CFLAGS) $(CWARN) -I$(DEMO_OUT) -Idemo

.PHONY: demo test-demo
TEST_TARGETS += test-demo

demo: $(BUILD)/lenetgen-demo
	$(Q)$(BUILD)/lenetgen-demo --samples $(DEMO_SAMPLES)

# Both checks always run; the target fails if either does.
test-demo: $(BUILD)/demo/test_golden $(BUILD)/lenetgen-demo
	$(Q)rc=0; \
	$(BUILD)/demo/test_golden $(DEMO_SAMPLES) $(DEMO_GOLDEN) || rc=1; \
	$(LUA) tests/demo/test_demo_cli.lua $(BUILD)/lenetgen-demo || rc=1; \
	exit $$rc

$(BUILD)/lenetgen-demo: $(DEMO_OBJS) $(BUILD)/demo/lenet5.o
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) -o $@ $^ -lm

$(BUILD)/demo/test_golden: $(BUILD)/demo/test_golden.o $(BUILD)/demo/images.o \
                           $(BUILD)/demo/lenet5.o
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) -o $@ $^ -lm

$(BUILD)/demo/lenet5.o: $(DEMO_OUT)/lenet5.c $(DEMO_OUT)/lenet5.h
	$(if $(Q),@echo "  CC      $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(DEMO_COMPILE) -c -o $@ $<

$(BUILD)/demo/test_golden.o: tests/demo/test_golden.c demo/images.h $(DEMO_OUT)/lenet5.h
	$(if $(Q),@echo "  CC      $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(DEMO_COMPILE) -c -o $@ $<

$(BUILD)/demo/%.o: demo/%.c $(wildcard demo/*.h) $(DEMO_OUT)/lenet5.h
	$(if $(Q),@echo "  CC      $@")
	$(Q)mkdir -p $(@D)
	$(Q)$(DEMO_COMPILE) -c -o $@ $<

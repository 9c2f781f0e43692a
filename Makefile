# lenetgen: `make` generates LeNet-5, builds the demo and classifies the sample images;
# `make test` runs every test. Missing tools are installed by tools/ensure-deps.
# V=1 shows full commands.

LUA      ?= lua5.4
CC       ?= gcc
CWARN    := -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wdouble-promotion -Werror
BUILD    := build
GEN_SRCS := gen/lenetgen $(wildcard gen/lg/*.lua) $(wildcard templates/*)
MODEL    ?= models/lenet5.lua

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Each mk/*.mk fragment adds its test targets to TEST_TARGETS.
TEST_TARGETS :=

.PHONY: all deps test clean
all: deps

deps:
	$(Q)tools/ensure-deps

include $(sort $(wildcard mk/*.mk))

test: deps
	$(Q)tools/run-tests $(TEST_TARGETS)

clean:
	rm -rf $(BUILD) out/*.c out/*.h

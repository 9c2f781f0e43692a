# Audit: static checks and traceability tests of the generated code.
#   make lint             cppcheck (--enable=all, MISRA C:2012 addon) and clang-tidy
#                         (lint/clang-tidy.yaml) over generated networks (tools/lint); fails
#                         on any finding that lint/deviations.txt does not justify.
#                         LINT_SET=quick|default|thorough, LINT_JOBS=N (docs/MISRA.md)
#   make test-audit       tests/audit/test_*.lua: banner and manifest, --check, minimal
#                         diffs, --explain, constant indices (scan, -Warray-bounds, ASan/UBSan)
#   make check-generated  out/ (CHECK_OUT) holds exactly what gen/lenetgen generates from
#                         MODEL now (--check); it writes nothing, so a missing, stale or
#                         hand-edited file fails it (tests/audit/test_check_generated.lua).
#                         `make test` runs it last, after test-demo has built out/ through
#                         make's own rule: it fails when that rule's prerequisites miss a
#                         generator source, or when out/ holds edits newer than its inputs.

LINT_SET  ?= default
LINT_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: lint test-audit check-generated
TEST_TARGETS += lint test-audit
CHECK_OUT ?= out

lint: deps
	$(Q)tools/ensure-deps cppcheck:cppcheck clang-tidy:clang-tidy
	$(Q)$(LUA) tools/lint --set $(LINT_SET) --jobs $(LINT_JOBS)

# Every test file runs, even after a failure; each prints its own totals.
test-audit: deps
	$(Q)rc=0; for t in tests/audit/test_*.lua; do \
	    echo "--- $$t"; $(LUA) $$t || rc=1; \
	done; exit $$rc

# No prerequisite writes CHECK_OUT: comparing with files just regenerated could never fail.
check-generated: deps
	$(Q)if gen/lenetgen --check $(MODEL) -o $(CHECK_OUT); then \
	    echo "check-generated: $(CHECK_OUT)/ is exactly what gen/lenetgen $(MODEL) generates"; \
	    echo "1 passed, 0 failed"; \
	else echo "0 passed, 1 failed"; exit 1; fi

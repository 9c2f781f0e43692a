# Audit (issue 7): static checks and traceability tests of the generated code.
#   make lint             cppcheck (--enable=all, MISRA C:2012 addon) and clang-tidy
#                         (lint/clang-tidy.yaml) over generated networks (tools/lint); fails
#                         on any finding that lint/deviations.txt does not justify.
#                         LINT_SET=quick|default|thorough, LINT_JOBS=N (docs/MISRA.md)
#   make test-audit       tests/audit/test_*.lua: banner and manifest, --check, minimal
#                         diffs, --explain, constant indices (scan, -Warray-bounds, ASan/UBSan)
#   make check-generated  out/ holds exactly what gen/lenetgen generates (--check), after
#                         make generate: CI runs it so generated code cannot drift

LINT_SET  ?= default
LINT_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: lint test-audit check-generated
TEST_TARGETS += lint test-audit check-generated

lint: deps
	$(Q)tools/ensure-deps cppcheck:cppcheck clang-tidy:clang-tidy
	$(Q)$(LUA) tools/lint --set $(LINT_SET) --jobs $(LINT_JOBS)

# Every test file runs, even after a failure; each prints its own totals.
test-audit: deps
	$(Q)rc=0; for t in tests/audit/test_*.lua; do \
	    echo "--- $$t"; $(LUA) $$t || rc=1; \
	done; exit $$rc

check-generated: generate
	$(Q)if gen/lenetgen --check $(MODEL) -o out; then \
	    echo "check-generated: out/ is exactly what gen/lenetgen $(MODEL) generates"; \
	    echo "1 passed, 0 failed"; \
	else echo "0 passed, 1 failed"; exit 1; fi

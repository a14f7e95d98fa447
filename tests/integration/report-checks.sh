# SPDX-License-Identifier: MIT
#
# Checks of vmm's --report JSON lines (docs/sanitizer.md) shared by the
# integration tests.  Source after tests/tap/libtap.sh.
#
#   report_valid NAME FILE   FILE is valid against the report's JSON Schema
#                        (docs/report.schema.json; tests/report-validate,
#                        python3-jsonschema), "vm" line first.
#   bounce_clean NAME FILE   FILE holds a correct run's report lines: every
#                        bounce slot is back at exit (each device's
#                        "slots_in_use" 0) and the pool never ran full
#                        ("exhausted" 0 for every device and the pool,
#                        dmatest's "bounce_exhausted" 0).  A full pool is an
#                        I/O error that a driver may retry silently: only
#                        the report shows it.

# _json_field FIELD: "WHO=VALUE" for each report line on stdin, WHO its
# "device" or "name" (else its "type"), VALUE the number FIELD holds or
# "missing".
_json_field() {
	awk -v f="$1" '
		function str(key,    s) {
			if (!match($0, "\"" key "\":\"[^\"]*\""))
				return ""
			s = substr($0, RSTART, RLENGTH)
			sub("^\"" key "\":\"", "", s)
			sub("\"$", "", s)
			return s
		}
		{
			who = str("device"); if (who == "") who = str("name"); if (who == "") who = str("type")
			v = "missing"
			if (match($0, "\"" f "\":[0-9]+")) {
				v = substr($0, RSTART, RLENGTH)
				sub(".*:", "", v)
			}
			print who "=" v
		}'
}

bounce_clean() {
	_bc_name=$1 _bc_file=$2
	_bc_n=$(grep -c '^{"type":"bounce",' "$_bc_file")
	ok '[ "$_bc_n" -gt 0 ] && grep -q "^{\"type\":\"bounce_pool\"," "$_bc_file"' \
		"$_bc_name: the report has the bounce accounts ($_bc_n devices) and the pool"
	_bc_bad=$(grep '^{"type":"bounce",' "$_bc_file" | _json_field slots_in_use | grep -v '=0$' |
		tr '\n' ' ')
	is "" "$_bc_bad" "$_bc_name: every bounce slot is free at exit (slots_in_use 0 for every device)"
	_bc_bad=$({ grep -E '^\{"type":"bounce(_pool)?",' "$_bc_file" | _json_field exhausted
		grep '^{"type":"dmatest",' "$_bc_file" | _json_field bounce_exhausted; } |
		grep -v '=0$' | tr '\n' ' ')
	is "" "$_bc_bad" "$_bc_name: the bounce pool never ran full (exhausted 0 for every device and the pool)"
}

report_valid() {
	"$top_srcdir/tests/report-validate" "$top_srcdir/docs/report.schema.json" "$2" >"$2.valid" 2>&1
	ok '[ $? = 0 ]' "$1: the report is valid against docs/report.schema.json ($(grep -c . "$2") lines)"
	diag_file "$2.valid"
}

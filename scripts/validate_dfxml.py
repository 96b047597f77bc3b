#!/usr/bin/env python3
"""Validate a DFXML report (`mh scan --format dfxml`) against the DFXML schema.

Usage:

    python3 scripts/validate_dfxml.py REPORT.xml PATH/TO/dfxml.xsd

The schema is not shipped with mediahash: take `dfxml.xsd` and the files it imports (its
`ref/` directory) from the dfxml-working-group/dfxml_schema repository and give the path of
`dfxml.xsd`. mediahash's extension elements (PDQ, pHash, dispositions, matches) are in their
own namespace, which the schema admits where it allows elements of other namespaces.

Needs lxml (`pip install lxml`). libxml2 2.12 and later (bundled with lxml 5 and later) refuse
to compile DFXML 1.2.0's `dfxml.xsd`: its adjacent `xs:any` wildcards make a content model that
newer libxml2 rejects as "not determinist". That is a property of the schema, not of the
report; this script says so and exits 2. Validate with an lxml that bundles an older libxml2
instead, e.g. `python3 -m venv /tmp/v && /tmp/v/bin/pip install 'lxml<5'`.

Exit status: 0 valid, 1 invalid (or not well-formed), 2 the schema could not be used or the
arguments are wrong.
"""

import sys

try:
    from lxml import etree
except ImportError:
    sys.exit("validate_dfxml: lxml is not installed (pip install lxml)")


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print(f"usage: {argv[0]} REPORT.xml PATH/TO/dfxml.xsd", file=sys.stderr)
        return 2
    report, xsd = argv[1], argv[2]
    version = ".".join(map(str, etree.LIBXML_VERSION))
    try:
        schema = etree.XMLSchema(etree.parse(xsd))
    except (OSError, etree.XMLSyntaxError) as e:
        print(f"{xsd}: cannot read the schema: {e}", file=sys.stderr)
        return 2
    except etree.XMLSchemaParseError as e:
        print(f"{xsd}: libxml2 {version} cannot compile the schema: {e}", file=sys.stderr)
        if "determinist" in str(e):
            print(
                "This libxml2 rejects the schema's own content models (adjacent xs:any "
                "wildcards). Use an lxml bundling libxml2 older than 2.12: pip install 'lxml<5'.",
                file=sys.stderr,
            )
        return 2
    try:
        document = etree.parse(report)
    except (OSError, etree.XMLSyntaxError) as e:
        print(f"{report}: INVALID (not well-formed XML): {e}")
        return 1
    if schema.validate(document):
        print(f"{report}: valid against {xsd} (lxml {etree.__version__}, libxml2 {version})")
        return 0
    print(f"{report}: INVALID against {xsd} ({len(schema.error_log)} errors)")
    for error in schema.error_log:
        print(f"  line {error.line}: {error.message}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

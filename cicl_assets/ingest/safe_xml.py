"""Parsing untrusted XML report files with defusedxml, turning every refusal into a ParseError."""

from __future__ import annotations

from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLSyntaxError

import defusedxml.ElementTree as DET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from cicl_assets.ingest.content import ParseError


def parse_xml(data: bytes, *, allow_doctype: bool = False) -> Element:
    """Parse a whole document; DTDs are refused unless ``allow_doctype``.

    ``allow_doctype`` admits a bare ``<!DOCTYPE x SYSTEM "y.dtd">`` line (JaCoCo, old Cobertura)
    while entity declarations and external references stay forbidden, so neither entity
    expansion bombs nor XXE can get through: expat never fetches the external DTD itself.
    """
    try:
        return DET.fromstring(
            data, forbid_dtd=not allow_doctype, forbid_entities=True, forbid_external=True
        )
    except DTDForbidden as exc:
        raise ParseError(
            f"DOCTYPE/entity declarations are not allowed (<!DOCTYPE {exc.name}>)"
        ) from None
    except EntitiesForbidden as exc:
        raise ParseError(
            f"DOCTYPE/entity declarations are not allowed (entity {exc.name!r} is declared)"
        ) from None
    except ExternalReferenceForbidden as exc:
        raise ParseError(f"external references are not allowed (system id {exc.sysid!r})") from None
    except XMLSyntaxError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise ParseError(
            f"XML is not well-formed: {reason} at line {line}, column {column}"
        ) from None


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1] if tag[:1] == "{" else tag


def attr(el: Element, name: str) -> str | None:
    value = el.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None

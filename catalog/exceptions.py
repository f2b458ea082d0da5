from core.errors import DomainError


class TaxonomyFileInvalid(DomainError):
    code = "taxonomy_file_invalid"
    status = 400


class AttributeValuesInvalid(DomainError):
    """One or more attribute values do not fit their attribute's type; ``errors`` names each."""

    code = "invalid_attribute_values"
    status = 400


class WorkflowTransitionInvalid(DomainError):
    code = "invalid_status_transition"
    status = 409


class NotAllowed(DomainError):
    code = "permission_denied"
    status = 403


class ProductNotPublishable(DomainError):
    """Publishing needs an approved product that is 100 % complete for the channel; ``extra``
    carries ``missing`` (what to fill in) per product."""

    code = "product_not_publishable"
    status = 409


class UnknownChannel(DomainError):
    code = "unknown_channel"
    status = 404


class PriceInvalid(DomainError):
    code = "invalid_price"
    status = 400


class ImportFileInvalid(DomainError):
    """An import file was rejected whole; ``errors`` has {row, column, message} per bad cell."""

    code = "import_file_invalid"
    status = 400


class ImageInvalid(DomainError):
    code = "invalid_image"
    status = 400


class VariantMatrixInvalid(DomainError):
    """Generating a variant matrix was refused whole; ``errors`` names each axis, value or row."""

    code = "variant_matrix_invalid"
    status = 400


class MediaInvalid(ImageInvalid):
    """A video, 360° view or document was refused (``code`` says why: ``invalid_video``,
    ``video_host_not_allowed``, ``invalid_video_url``, ``invalid_document``,
    ``document_encrypted``, ``invalid_spin``). A subclass of ``ImageInvalid``, so code that handles
    refused media handles every kind."""

    code = "invalid_media"
    status = 400


class LocaleUnsupported(DomainError):
    """A locale the channel does not sell in (``?locale=``, a translation for a language content
    is not written in); ``extra`` carries ``locales``: the languages the channel sells in."""

    code = "unsupported_locale"
    status = 400

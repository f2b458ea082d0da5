from config.errors import DomainError


class TaxonomyFileInvalid(DomainError):
    code = "taxonomy_file_invalid"
    status = 400

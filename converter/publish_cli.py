"""``patternkg publish``: load a built library into a Graph Store Protocol store (see :mod:`.publish`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patternkg.converter.publish import PublishError, endpoints_for, file_permission_warning, load_credentials
from patternkg.converter.publish import publish as publish_library
from patternkg.options import source_arguments


@click.command()
@source_arguments
@click.option("--to", "url", required=True, metavar="URL",
              help="Graph Store Protocol endpoint of the store (e.g. http://host:7878/store for Oxigraph, "
                   "http://host:8890/sparql-graph-crud-auth for Virtuoso).")
@click.option("--store", "store_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Publish this built store instead of converting SOURCE.")
@click.option("--release", default=None, metavar="NAME",
              help="Name of the release (graph <BASE>release/NAME).  [default: the UTC time, YYYYMMDDTHHMMSSZ]")
@click.option("--keep", type=click.IntRange(min=1), default=3, show_default=True,
              help="Releases kept in the store, the new one included; older ones are deleted.")
@click.option("--auth", "scheme", type=click.Choice(["basic", "digest", "bearer", "none"]), default=None,
              help="Authentication scheme.  [default: bearer with a token, basic with a user, else none]")
@click.option("--credentials", "credentials_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None,
              help="File of user=/password= or token= lines.  [default: PATTERNKG_PUBLISH_USER, "
                   "PATTERNKG_PUBLISH_PASSWORD, PATTERNKG_PUBLISH_TOKEN from the environment]")
@click.option("--query-url", default=None, metavar="URL",
              help="SPARQL query endpoint of the store (used to check the upload).  [default: derived for "
                   "Oxigraph, Virtuoso, Fuseki; else the graph is read back]")
@click.option("--update-url", default=None, metavar="URL", help="SPARQL Update endpoint (for --alias-graph).")
@click.option("--alias-graph", default=None, metavar="IRI",
              help="Also COPY the release to this fixed graph with SPARQL Update (atomic on Oxigraph).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="Triples per upload request.")
@click.option("--retries", type=click.IntRange(min=0), default=4, show_default=True,
              help="Retries of a request that failed on the network, with 429 or with 5xx.")
@click.option("--timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds to wait for each answer of the store.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def publish(sources, base_iri, max_file_size, jobs, url, store_dir, release, keep, scheme, credentials_file,
            query_url, update_url, alias_graph, chunk_size, retries, timeout, quiet):
    """Publish a library into a triple store over the SPARQL 1.1 Graph Store Protocol.

    The library (a built --store, or SOURCE converted now) is written into a new
    named graph <BASE>release/NAME, checked, and only then made current in the
    small description graph <BASE>releases (dcat:hasCurrentVersion), which
    readers and `patternkg serve --backend` follow. A failed publish removes its
    partial graph and leaves the current release as it was. Credentials never go
    on the command line: use the environment or --credentials FILE.
    """
    try:
        endpoints = endpoints_for(url, query_url=query_url, update_url=update_url)
        if credentials_file is not None:
            warning = file_permission_warning(credentials_file)
            if warning:
                click.echo(warning, err=True)
        credentials = load_credentials(scheme=scheme, file=credentials_file)
        if store_dir is not None and sources:
            raise click.UsageError("give either SOURCE... or --store, not both")
        result = publish_library(
            to=url, store=store_dir, sources=sources, base_iri=base_iri, release=release, keep=keep,
            credentials=credentials, query_url=endpoints.query, update_url=endpoints.update,
            alias_graph=alias_graph, chunk_triples=chunk_size, retries=retries, timeout=timeout,
            progress=not quiet and sys.stderr.isatty(),
        )
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in result.warnings:
        click.echo(warning, err=True)
    click.echo(f"published release {result.release.version}: {result.release.triples} triples into "
               f"<{result.current}> in {result.seconds:.1f} s ({result.requests} requests); it is now current"
               + (f"; kept {len(result.kept)} older" if result.kept else "")
               + (f"; deleted {len(result.dropped)} older" if result.dropped else ""), err=True)



@click.command()
@click.option("--store", "store_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The store directory whose current generation is packaged.")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the artefact into (archive, .sha256, .json).")
def package(store_dir, output):
    """Package the current generation of a store as one artefact for replicas.

    Writes patternkg-<generation>.tar.gz, its .sha256 (sha256sum format) and a .json
    with the generation id, base IRI, source digest and patternkg version. Replicas
    install it with `patternkg install` or serve it with `patternkg serve --artefact`,
    and refuse it when the checksum does not match.
    """
    from patternkg.converter.artefact import ArtefactRefused, package as package_generation
    from patternkg.converter.storedir import StoreDirError

    try:
        artefact = package_generation(store=store_dir, output=output)
    except (ArtefactRefused, StoreDirError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{artefact.archive}  ({artefact.metadata['bytes']} bytes, sha256 {artefact.metadata['sha256']})")


@click.command()
@click.argument("artefact", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Store directory to install the generation into (created when missing); it becomes current.")
@click.option("--sha256", default=None, help="Expected SHA-256 (default: the .sha256 file beside the archive).")
def install(artefact, store_dir, sha256):
    """Verify an artefact's checksum and install its generation into a store directory."""
    from patternkg.converter.artefact import ArtefactRefused, install as install_artefact
    from patternkg.converter.storedir import StoreDirError

    try:
        generation = install_artefact(artefact=artefact, store=store_dir, sha256=sha256)
    except (ArtefactRefused, StoreDirError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"installed generation {generation.id} into {store_dir} (now current)")


commands = [publish, package, install]

"""GIVEN the images built offline (make docker-test) WHEN measured THEN the producer and the
consumer stay under the sizes issue 16 asked for, and the consumer's Java runtime is the
jlink'd one: only the modules the KCL needs, no JDK tools, the CA certificates of Debian."""

from __future__ import annotations

import docker

# issue 16's aims, measured as `docker images` does (bytes, 1 MB = 10^6)
LIMITS_MB = {"stockpipe-producer": 300, "stockpipe-consumer": 600}


def test_producer_and_consumer_images_stay_under_their_size_aims(
    images: None, engine: docker.DockerClient
) -> None:
    sizes = {name: engine.images.get(name).attrs["Size"] / 1e6 for name in LIMITS_MB}
    for name, limit in LIMITS_MB.items():
        assert sizes[name] < limit, sizes


def test_the_consumer_runs_a_jlinked_java_with_only_the_modules_it_needs(
    images: None, engine: docker.DockerClient
) -> None:
    script = (
        "java --list-modules; ls /opt/java/bin; "
        "keytool -list -cacerts -storepass changeit | grep -c trustedCertEntry"
    )
    output = engine.containers.run(
        "stockpipe-consumer",
        ["sh", "-c", script],
        network_mode="host",
        read_only=True,
        remove=True,
    ).decode()
    modules = {line.split("@")[0] for line in output.splitlines() if "@" in line}
    assert {"java.base", "java.logging", "java.xml", "jdk.crypto.ec"} <= modules
    assert not {"jdk.compiler", "jdk.jshell", "jdk.jdeps"} & modules
    assert len(modules) < 25  # a full JDK 17 has ~70
    assert "javac" not in output.split() and "jlink" not in output.split()
    certificates = int(output.strip().splitlines()[-1])
    assert certificates > 100  # Debian's CA bundle: TLS to AWS needs it

//! How banger keeps kernels in a repository (docs/oci.md): the tag is the kernel name, and
//! points at an OCI image index with one manifest per arch (`platform` linux/amd64 or
//! linux/arm64). Each manifest has `artifactType` [`ARTIFACT_TYPE`], the empty config, and one
//! layer of [`LAYER_TYPE`] whose digest and size are the bundle's, and names the kernel in its
//! annotations. Types are `oci-spec`'s; nothing here is a hand-written spec struct.

use std::collections::HashMap;

use banger_plugin_api::Entry;
use oci_spec::image::{
    Arch, Descriptor, DescriptorBuilder, Digest, ImageIndex, ImageIndexBuilder, ImageManifest,
    ImageManifestBuilder, MediaType, Os, PlatformBuilder,
};

use crate::{client::sha256_digest, listing::Budget, OciError, Registry};

/// The manifests' `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.banger.kernel.v1";
/// The one layer's media type: the bundle itself.
pub const LAYER_TYPE: &str = "application/vnd.banger.kernel.bundle.v1.tar+zstd";
/// The empty config, `{}`.
pub const EMPTY_CONFIG: &[u8] = b"{}";
/// The most manifests banger reads from one index.
pub const MAX_INDEX_MANIFESTS: usize = 64;

const TITLE: &str = "org.opencontainers.image.title";
const VERSION: &str = "org.opencontainers.image.version";
const DESCRIPTION: &str = "org.opencontainers.image.description";
const NAME: &str = "com.thaloco.banger.kernel.name";
const DISTRO: &str = "com.thaloco.banger.kernel.distro";

/// The OCI architecture of a catalog arch, and back.
fn oci_arch(arch: &str) -> Option<Arch> {
    match arch {
        "x86_64" => Some(Arch::Amd64),
        "arm64" => Some(Arch::ARM64),
        _ => None,
    }
}

pub(crate) fn catalog_arch(arch: &Arch) -> Option<&'static str> {
    match arch {
        Arch::Amd64 => Some("x86_64"),
        Arch::ARM64 => Some("arm64"),
        _ => None,
    }
}

pub(crate) fn invalid(url: &str, reason: impl Into<String>) -> OciError {
    OciError::Invalid {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

fn digest(text: &str) -> Result<Digest, OciError> {
    text.parse()
        .map_err(|e| invalid(text, format!("not a digest: {e}")))
}

/// The manifest for `entry`'s bundle: its bytes.
pub fn manifest_for(entry: &Entry) -> Result<Vec<u8>, OciError> {
    let what = format!("the manifest of `{}` ({})", entry.name, entry.arch);
    let config = DescriptorBuilder::default()
        .media_type(MediaType::EmptyJSON)
        .digest(digest(&sha256_digest(EMPTY_CONFIG))?)
        .size(EMPTY_CONFIG.len() as u64)
        .build()
        .map_err(|e| invalid(&what, e.to_string()))?;
    let layer = DescriptorBuilder::default()
        .media_type(MediaType::Other(LAYER_TYPE.to_owned()))
        .digest(digest(&format!("sha256:{}", entry.sha256))?)
        .size(entry.size)
        .build()
        .map_err(|e| invalid(&what, e.to_string()))?;
    let annotations = HashMap::from([
        (
            TITLE.to_owned(),
            banger_plugin_api::names::bundle_file(&entry.name, &entry.arch),
        ),
        (VERSION.to_owned(), entry.kernel_version.clone()),
        (DESCRIPTION.to_owned(), entry.description.clone()),
        (NAME.to_owned(), entry.name.clone()),
        (DISTRO.to_owned(), entry.distro.clone()),
    ]);
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .artifact_type(MediaType::Other(ARTIFACT_TYPE.to_owned()))
        .config(config)
        .layers(vec![layer])
        .annotations(annotations)
        .build()
        .map_err(|e| invalid(&what, e.to_string()))?;
    canonical(&manifest).map_err(|e| invalid(&what, e))
}

/// `value` as JSON with every object's keys sorted: the same manifest always has the same
/// bytes, hence the same digest (oci-spec keeps annotations in a `HashMap`, whose order varies
/// from one run to the next).
fn canonical(value: &impl serde::Serialize) -> Result<Vec<u8>, String> {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut pairs: Vec<_> = map.into_iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    let value = serde_json::to_value(value).map_err(|e| e.to_string())?;
    serde_json::to_vec(&sorted(value)).map_err(|e| e.to_string())
}

/// `index` (or a new one) with the manifest `manifest` for `arch` in place of any other for
/// that arch; the other arches' manifests stay.
pub fn index_with(
    index: Option<ImageIndex>,
    arch: &str,
    manifest: &[u8],
) -> Result<Vec<u8>, OciError> {
    let what = format!("the index for {arch}");
    let oci = oci_arch(arch).ok_or_else(|| invalid(&what, format!("unknown arch `{arch}`")))?;
    let platform = PlatformBuilder::default()
        .architecture(oci.clone())
        .os(Os::Linux)
        .build()
        .map_err(|e| invalid(&what, e.to_string()))?;
    let descriptor = DescriptorBuilder::default()
        .media_type(MediaType::ImageManifest)
        .digest(digest(&sha256_digest(manifest))?)
        .size(manifest.len() as u64)
        .artifact_type(MediaType::Other(ARTIFACT_TYPE.to_owned()))
        .platform(platform)
        .build()
        .map_err(|e| invalid(&what, e.to_string()))?;
    let mut manifests: Vec<Descriptor> = index
        .map(|i| i.manifests().clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.platform().as_ref().map(|p| p.architecture()) != Some(&oci))
        .collect();
    manifests.push(descriptor);
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .build()
        .map_err(|e| invalid(&what, e.to_string()))?;
    canonical(&index).map_err(|e| invalid(&what, e))
}

impl Registry {
    /// The index tagged `name`, if there is one.
    pub fn index(&self, name: &str) -> Result<Option<ImageIndex>, OciError> {
        self.index_within(name, None)
    }

    /// [`Registry::index`], its bytes counted against `budget` when there is one. The
    /// manifests it names are counted before any is parsed: an index naming more than
    /// [`MAX_INDEX_MANIFESTS`] is refused without building them.
    pub(crate) fn index_within(
        &self,
        name: &str,
        budget: Option<&Budget>,
    ) -> Result<Option<ImageIndex>, OciError> {
        let Some(fetched) = self.manifest_within(name, budget)? else {
            return Ok(None);
        };
        let url = format!("{}:{name}", self.repository);
        let count = serde_json::from_slice::<ManifestCount>(&fetched.bytes)
            .map_err(|e| invalid(&url, format!("not an OCI image index: {e}")))?
            .manifests
            .map_or(0, |counted| counted.0);
        if count > MAX_INDEX_MANIFESTS {
            return Err(OciError::TooManyManifests {
                url,
                count,
                limit: MAX_INDEX_MANIFESTS,
            });
        }
        let index = ImageIndex::from_reader(&fetched.bytes[..])
            .map_err(|e| invalid(&url, format!("not an OCI image index: {e}")))?;
        Ok(Some(index))
    }

    /// Put `entry`'s bundle into the repository: the blob (read from `bundle` only when the
    /// registry lacks it), the empty config, the manifest, and the index tagged with the
    /// kernel's name, keeping its other arches. Returns whether the blob was uploaded.
    pub fn push_kernel(
        &self,
        entry: &Entry,
        bundle: impl FnOnce() -> Result<Box<dyn std::io::Read>, OciError>,
    ) -> Result<bool, OciError> {
        let uploaded = if self.has_blob(&entry.sha256, true)? {
            false
        } else {
            self.push_blob(&entry.sha256, entry.size, bundle()?)?;
            true
        };
        let config = sha256_digest(EMPTY_CONFIG);
        let config_hex = config.trim_start_matches("sha256:");
        if !self.has_blob(config_hex, true)? {
            self.push_blob(config_hex, EMPTY_CONFIG.len() as u64, EMPTY_CONFIG)?;
        }
        let manifest = manifest_for(entry)?;
        let manifest_digest = sha256_digest(&manifest);
        let current = self.index(&entry.name)?;
        let listed = current.as_ref().is_some_and(|index| {
            index
                .manifests()
                .iter()
                .any(|d| d.digest().to_string() == manifest_digest)
        });
        if listed {
            // The tag already points at this very manifest: nothing to upload.
            return Ok(uploaded);
        }
        self.put_manifest(
            &manifest_digest,
            MediaType::ImageManifest.as_ref(),
            &manifest,
        )?;
        let index = index_with(current, &entry.arch, &manifest)?;
        self.put_manifest(&entry.name, MediaType::ImageIndex.as_ref(), &index)?;
        Ok(uploaded)
    }
}

/// An index's `manifests`, counted without being kept.
#[derive(serde::Deserialize)]
struct ManifestCount {
    #[serde(default)]
    manifests: Option<DescriptorCount>,
}

struct DescriptorCount(usize);

impl<'de> serde::Deserialize<'de> for DescriptorCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> serde::de::Visitor<'de> for Count {
            type Value = DescriptorCount;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of descriptors")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DescriptorCount, A::Error> {
                let mut count = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(DescriptorCount(count))
            }
        }
        deserializer.deserialize_seq(Count)
    }
}

/// The catalog entry a banger manifest describes, its arch left empty: that comes from the
/// index's descriptor.
pub(crate) fn entry_of(
    repository: &crate::Repository,
    manifest: &ImageManifest,
    url: &str,
) -> Result<Entry, OciError> {
    if manifest
        .artifact_type()
        .as_ref()
        .map(|t| t.to_string())
        .as_deref()
        != Some(ARTIFACT_TYPE)
    {
        return Err(invalid(
            url,
            format!("its artifactType is not `{ARTIFACT_TYPE}`"),
        ));
    }
    let [layer] = manifest.layers().as_slice() else {
        return Err(invalid(url, "it must have exactly one layer"));
    };
    if layer.media_type().to_string() != LAYER_TYPE {
        return Err(invalid(url, format!("its layer is not `{LAYER_TYPE}`")));
    }
    let sha256 = layer
        .digest()
        .to_string()
        .strip_prefix("sha256:")
        .map(str::to_owned)
        .ok_or_else(|| invalid(url, "its layer's digest is not sha256"))?;
    let empty = HashMap::new();
    let annotations = manifest.annotations().as_ref().unwrap_or(&empty);
    let annotation = |key: &str| annotations.get(key).cloned().unwrap_or_default();
    let entry = Entry {
        name: annotation(NAME),
        distro: annotation(DISTRO),
        arch: String::new(),
        kernel_version: annotation(VERSION),
        url: repository.bundle_url(&sha256),
        sha256,
        size: layer.size(),
        description: annotation(DESCRIPTION),
    };
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            name: "void-6.12".into(),
            distro: "void".into(),
            arch: "x86_64".into(),
            kernel_version: "6.12.3".into(),
            url: String::new(),
            sha256: "a".repeat(64),
            size: 10,
            description: "d".into(),
        }
    }

    #[test]
    fn manifests_are_byte_stable_and_indexes_keep_other_arches() {
        let manifest = manifest_for(&entry()).unwrap();
        for _ in 0..5 {
            assert_eq!(manifest_for(&entry()).unwrap(), manifest);
        }
        let index = index_with(None, "x86_64", &manifest).unwrap();
        let parsed = ImageIndex::from_reader(&index[..]).unwrap();
        assert_eq!(
            parsed.manifests()[0].digest().to_string(),
            sha256_digest(&manifest)
        );
        let mut arm = entry();
        arm.arch = "arm64".into();
        let both = index_with(Some(parsed), "arm64", &manifest_for(&arm).unwrap()).unwrap();
        let both = ImageIndex::from_reader(&both[..]).unwrap();
        assert_eq!(both.manifests().len(), 2);
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * The virtio-iommu device (virtio 1.2/1.3, "IOMMU Device"): creation,
 * config space, reset, endpoints.  Quotes in comments are from the spec's
 * device-normative sections; docs/viommu.md explains the design and every
 * choice the spec leaves open.
 */
#include "viommu/internal.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void viommu_default_config(struct viommu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->page_size_mask = 0x1000 | 0x200000 | 0x40000000;
	cfg->input_start = 0;
	cfg->input_end = UINT64_MAX;
	cfg->domain_start = 0;
	cfg->domain_end = UINT32_MAX;
	cfg->probe_size = 512;
	cfg->bypass = 0;
	cfg->max_domains = 1u << 16;
	cfg->max_mappings = 1u << 20;
	cfg->max_total_mappings = 1u << 20;
	cfg->unmap_history = 4096;
	cfg->max_total_history = 1u << 18;
	cfg->bypass_scan = 4096;
	cfg->resv[0] = (struct viommu_resv_region){
		.start = 0xfee00000, .end = 0xfeefffff,
		.subtype = VIRTIO_IOMMU_RESV_MEM_T_MSI,
	};
	cfg->nr_resv = 1;
}

static int config_valid(const struct viommu_config *cfg)
{
	if (!cfg->page_size_mask || cfg->input_start > cfg->input_end ||
	    cfg->domain_start > cfg->domain_end || cfg->bypass > 1 ||
	    cfg->nr_resv > VIOMMU_MAX_RESV)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_resv; i++)
		if (cfg->resv[i].start > cfg->resv[i].end)
			return -EINVAL;
	/* Every RESV_MEM property must fit in the PROBE buffer. */
	if ((uint64_t)cfg->nr_resv * sizeof(struct virtio_iommu_probe_resv_mem) > cfg->probe_size)
		return -EINVAL;
	return 0;
}

struct viommu *viommu_create(const struct viommu_config *cfg, const struct viommu_host_ops *host,
			     void *host_opaque)
{
	pthread_rwlockattr_t attr;
	struct viommu *v;
	int err;

	if (!cfg || !host || !host->is_ram) {
		err = -EINVAL;
		goto err;
	}
	err = config_valid(cfg);
	if (err)
		goto err;
	v = calloc(1, sizeof(*v));
	if (!v) {
		err = -ENOMEM;
		goto err;
	}
	v->cfg = *cfg;
	v->host = *host;
	v->host_opaque = host_opaque;
	v->granule = cfg->page_size_mask & -cfg->page_size_mask;
	v->bypass = cfg->bypass;
	RB_INIT(&v->domains);

	/*
	 * Writers first: a stream of translations that miss their IOTLBs
	 * (device threads, several of them refusing DMAs, which takes longer)
	 * must not starve the guest's requests, as glibc's default reader
	 * preference can.  The price is that the read lock must never be
	 * taken recursively (a waiting writer would deadlock it): no function
	 * here does, and the for_each callbacks must not call into the device.
	 */
	err = -pthread_rwlockattr_init(&attr);
	if (err)
		goto err_free;
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	err = -pthread_rwlock_init(&v->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (err)
		goto err_free;
	err = -pthread_mutex_init(&v->fault_lock, NULL);
	if (err)
		goto err_rwlock;
	return v;

err_rwlock:
	pthread_rwlock_destroy(&v->lock);
err_free:
	free(v);
err:
	errno = -err;
	return NULL;
}

void viommu_destroy(struct viommu *v)
{
	if (!v)
		return;
	domain_free_all(v);
	domain_free_spares(v);
	viommu_free_ports(v);
	for (size_t i = 0; i < v->nr_eps; i++) {
		free(v->eps[i]->name);
		free(v->eps[i]);
	}
	free(v->eps);
	pthread_mutex_destroy(&v->fault_lock);
	pthread_rwlock_destroy(&v->lock);
	free(v);
}

uint64_t viommu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int ep_cmp(const void *key, const void *elem)
{
	uint32_t id = *(const uint32_t *)key;
	const struct viommu_endpoint *ep = *(struct viommu_endpoint *const *)elem;

	return id < ep->id ? -1 : id > ep->id;
}

/* O(log n) over the sorted endpoint array (v->lock held). */
struct viommu_endpoint *viommu_find_endpoint(const struct viommu *v, uint32_t id)
{
	struct viommu_endpoint **p;

	if (!v->nr_eps)
		return NULL;
	p = bsearch(&id, v->eps, v->nr_eps, sizeof(*v->eps), ep_cmp);
	return p ? *p : NULL;
}

int viommu_add_endpoint(struct viommu *v, uint32_t endpoint_id, const char *name)
{
	struct viommu_endpoint *ep;
	size_t pos;
	int err;

	pthread_rwlock_wrlock(&v->lock);
	if (viommu_find_endpoint(v, endpoint_id)) {
		err = -EEXIST;
		goto out;
	}
	if (v->nr_eps == v->cap_eps) {
		size_t cap = v->cap_eps ? 2 * v->cap_eps : 8;
		struct viommu_endpoint **eps = realloc(v->eps, cap * sizeof(*eps));

		if (!eps) {
			err = -ENOMEM;
			goto out;
		}
		v->eps = eps;
		v->cap_eps = cap;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		err = -ENOMEM;
		goto out;
	}
	ep->id = endpoint_id;
	ep->name = strdup(name ? name : "");
	if (!ep->name) {
		err = -ENOMEM;
		goto err_ep;
	}
	for (pos = v->nr_eps; pos > 0 && v->eps[pos - 1]->id > endpoint_id; pos--)
		v->eps[pos] = v->eps[pos - 1];
	v->eps[pos] = ep;
	v->nr_eps++;
	err = 0;
	goto out;

err_ep:
	free(ep);
out:
	pthread_rwlock_unlock(&v->lock);
	return err;
}

uint64_t viommu_device_features(const struct viommu *v)
{
	/*
	 * BYPASS (3) is not offered: "New devices SHOULD NOT offer
	 * VIRTIO_IOMMU_F_BYPASS. Devices SHOULD NOT offer both".
	 */
	return 1ull << VIRTIO_IOMMU_F_INPUT_RANGE |
	       1ull << VIRTIO_IOMMU_F_DOMAIN_RANGE |
	       1ull << VIRTIO_IOMMU_F_MAP_UNMAP |
	       1ull << VIRTIO_IOMMU_F_PROBE |
	       1ull << VIRTIO_IOMMU_F_MMIO |
	       1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG;
}

void viommu_read_config(const struct viommu *v, struct virtio_iommu_config *cfg)
{
	struct viommu *mv = (struct viommu *)v;   /* the lock is not logically state */

	memset(cfg, 0, sizeof(*cfg));
	cfg->page_size_mask = htole64(v->cfg.page_size_mask);
	cfg->input_range.start = htole64(v->cfg.input_start);
	cfg->input_range.end = htole64(v->cfg.input_end);
	cfg->domain_range.start = htole32(v->cfg.domain_start);
	cfg->domain_range.end = htole32(v->cfg.domain_end);
	cfg->probe_size = htole32(v->cfg.probe_size);
	pthread_rwlock_rdlock(&mv->lock);
	cfg->bypass = v->bypass;
	pthread_rwlock_unlock(&mv->lock);
}

void viommu_write_config(struct viommu *v, unsigned int offset, const void *data, size_t len)
{
	const uint8_t *b = data;
	const size_t bypass_off = offsetof(struct virtio_iommu_config, bypass);
	struct drain dr = { .all = true, .whole = true };
	uint8_t bypass;

	/* "The driver MUST NOT write to any other device configuration
	 * field": other bytes of the write are ignored. */
	if (offset > bypass_off || len <= bypass_off - offset)
		return;
	/* "The device MUST NOT present a value different than 0 or 1";
	 * the driver "SHOULD ignore bits 1-7", so we do too. */
	bypass = b[bypass_off - offset] & 1;
	pthread_rwlock_wrlock(&v->lock);
	if (bypass == v->bypass) {
		pthread_rwlock_unlock(&v->lock);
		return;
	}
	v->bypass = bypass;
	pthread_rwlock_unlock(&v->lock);
	/* Unattached endpoints change translation (identity <-> none): DMA
	 * through the old setting ends before the write completes. */
	drain_run(v, &dr);
}

void viommu_reset(struct viommu *v)
{
	struct drain dr = { .all = true, .whole = true };

	pthread_rwlock_wrlock(&v->lock);
	domain_drop_all(v);
	/*
	 * The spec says bypass "SHOULD NOT change on device reset, but SHOULD
	 * be restored to its initial value on system reset".  This library
	 * has one reset; viommu.h defines it as restoring the initial value,
	 * which is also the safe side (a guest that set bypass=1 and then
	 * resets the device does not keep unchecked DMA).
	 */
	v->bypass = v->cfg.bypass;
	pthread_mutex_lock(&v->fault_lock);
	v->fault_head = 0;
	v->fault_count = 0;
	pthread_mutex_unlock(&v->fault_lock);
	pthread_rwlock_unlock(&v->lock);
	drain_run(v, &dr);
}

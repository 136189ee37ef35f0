/* Every crossing of line segments with triangle chunks: the compiled twin of the numpy casting in
 * ``triangle_rays.py``, loaded by ``native_cast.py`` through ctypes (no Python headers, so one
 * build serves every Blender's Python).
 *
 * Per frame it refits a box around each chunk and around every BRANCHING neighbouring boxes, level
 * upon level, walks each segment down the boxes it passes through and tests the chunks' triangles
 * exactly. Boxes only cull: the crossings are those of the triangle test, which is the numpy one
 * operation for operation in single precision (built with -ffp-contract=off, never -ffast-math),
 * so both castings give the same crossings bit for bit.
 *
 * Nodes are in natural order: the children of node q are nodes BRANCHING q .. BRANCHING q + 7 of
 * the level below. A level is stored in groups of BRANCHING siblings, each group six rows of
 * BRANCHING floats (low x, y, z, high x, y, z), so that one segment is tested against a node's
 * children at once. An empty box (low +inf, high -inf) is met by no segment.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define CHUNK 8
#define BRANCHING 8
#define GROUP (6 * BRANCHING) /* floats per group of sibling boxes */
/* Grid steps per axis of the cells the leaf boxes are refitted from (within 16 bits). */
#define GRID_STEPS 60000.0f

#ifndef SOURCE_TAG
#define SOURCE_TAG 0
#endif

/* The tag of the source this library was built from (the loader refuses another). */
int64_t bm3d_source_tag(void) { return SOURCE_TAG; }

static void set_box(float *group, int lane, const float *low, const float *high) {
    for (int a = 0; a < 3; a++) {
        group[a * BRANCHING + lane] = low[a];
        group[(a + 3) * BRANCHING + lane] = high[a];
    }
}

static void set_empty(float *group, int lane) {
    const float low[3] = {INFINITY, INFINITY, INFINITY};
    const float high[3] = {-INFINITY, -INFINITY, -INFINITY};
    set_box(group, lane, low, high);
}

/* The lowest and highest of ``count`` floats; returns 0 if one is infinite or not a number. */
static int finite_extent(const float *p, int64_t count, float *lowest, float *highest) {
    float lo = INFINITY, hi = -INFINITY;
    int64_t v = 0;
    uint32_t special = 0; /* an exponent of all ones: infinite or not a number */
#if defined(__SSE2__)
    __m128 lo4 = _mm_set1_ps(INFINITY), hi4 = _mm_set1_ps(-INFINITY);
    __m128i exponent = _mm_set1_epi32(0x7f800000), special4 = _mm_setzero_si128();
    for (; v + 4 <= count; v += 4) {
        __m128 x = _mm_loadu_ps(p + v);
        __m128i bits = _mm_and_si128(_mm_castps_si128(x), exponent);
        special4 = _mm_or_si128(special4, _mm_cmpeq_epi32(bits, exponent));
        lo4 = _mm_min_ps(lo4, x);
        hi4 = _mm_max_ps(hi4, x);
    }
    float lanes[4];
    _mm_storeu_ps(lanes, lo4);
    for (int i = 0; i < 4; i++)
        lo = lanes[i] < lo ? lanes[i] : lo;
    _mm_storeu_ps(lanes, hi4);
    for (int i = 0; i < 4; i++)
        hi = lanes[i] > hi ? lanes[i] : hi;
    special = (uint32_t)_mm_movemask_epi8(special4);
#endif
    for (; v < count; v++) {
        uint32_t bits;
        memcpy(&bits, p + v, sizeof bits);
        special |= (bits & 0x7f800000u) == 0x7f800000u;
        lo = p[v] < lo ? p[v] : lo;
        hi = p[v] > hi ? p[v] : hi;
    }
    *lowest = lo;
    *highest = hi;
    return !special;
}

/* The frame's vertices as cells of a grid over their extent, one 8-byte record per vertex (three
 * 16-bit cells less 32768, so that signed SSE2 minima apply): the refit's gathers, its bulk, then
 * stay in the core's cache, which the three rows of floats overflow. Returns 0 if a vertex is not
 * finite (no grid). */
static int grid_cells(const float *const axis[3], int64_t count, int16_t *cells, float *low,
                      float *step) {
    for (int a = 0; a < 3; a++) {
        float high;
        if (!finite_extent(axis[a], count, low + a, &high))
            return 0;
        step[a] = (high - low[a]) / GRID_STEPS;
        step[a] = step[a] > 1e-7f ? step[a] : 1e-7f;
    }
    const float scale[3] = {1.0f / step[0], 1.0f / step[1], 1.0f / step[2]};
    int64_t v = 0;
#if defined(__SSE2__)
    /* Four vertices at a time: cells of x, y, z (and 0) interleaved into four records. */
    __m128 limit = _mm_set1_ps(65535.0f);
    __m128i bias = _mm_set1_epi32(32768);
    for (; v + 4 <= count; v += 4) {
        __m128i c[3];
        for (int a = 0; a < 3; a++) {
            __m128 x = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(axis[a] + v), _mm_set1_ps(low[a])),
                                  _mm_set1_ps(scale[a]));
            c[a] = _mm_sub_epi32(_mm_cvttps_epi32(_mm_min_ps(x, limit)), bias);
        }
        __m128i xy = _mm_packs_epi32(c[0], c[1]); /* x0..x3 y0..y3 */
        __m128i z0 = _mm_packs_epi32(c[2], _mm_setzero_si128()); /* z0..z3 0 0 0 0 */
        __m128i xz = _mm_unpacklo_epi16(xy, z0);                  /* x0 z0 x1 z1 .. */
        __m128i y0 = _mm_unpacklo_epi16(_mm_unpackhi_epi64(xy, xy), _mm_setzero_si128());
        _mm_storeu_si128((__m128i *)(cells + 4 * v), _mm_unpacklo_epi16(xz, y0));
        _mm_storeu_si128((__m128i *)(cells + 4 * v + 8), _mm_unpackhi_epi16(xz, y0));
    }
#endif
    for (; v < count; v++) {
        for (int a = 0; a < 3; a++) {
            float c = (axis[a][v] - low[a]) * scale[a];
            c = c < 65535.0f ? c : 65535.0f;
            cells[4 * v + a] = (int16_t)((int32_t)c - 32768);
        }
        cells[4 * v + 3] = 0;
    }
    return 1;
}

/* Leaf boxes from the cells: a vertex in cell c lies in [low + c step, low + (c + 1) step] up to
 * rounding far below a step, so a box runs from a step below its lowest cell to two steps above
 * its highest. Leaf k's distinct vertices are vertex[start[k]] .. vertex[start[k + 1] - 1]; a
 * leaf without any (padding) is empty. */
static void leaves_from_cells(const int16_t *cells, const float *low, const float *step,
                              int64_t leaves, const int32_t *start, const int32_t *vertex,
                              float grow, float *boxes) {
    for (int64_t k = 0; k < leaves; k++) {
        float *group = boxes + (k / BRANCHING) * GROUP;
        int lane = (int)(k % BRANCHING);
        int32_t first = start[k], end = start[k + 1];
        if (first == end) {
            set_empty(group, lane);
            continue;
        }
        int16_t lowest[8], highest[8];
#if defined(__SSE2__)
        __m128i lo = _mm_loadl_epi64((const __m128i *)(cells + 4 * (int64_t)vertex[first]));
        __m128i hi = lo;
        for (int32_t i = first + 1; i < end; i++) {
            __m128i c = _mm_loadl_epi64((const __m128i *)(cells + 4 * (int64_t)vertex[i]));
            lo = _mm_min_epi16(lo, c);
            hi = _mm_max_epi16(hi, c);
        }
        _mm_storeu_si128((__m128i *)lowest, lo);
        _mm_storeu_si128((__m128i *)highest, hi);
#else
        for (int a = 0; a < 3; a++)
            lowest[a] = highest[a] = cells[4 * (int64_t)vertex[first] + a];
        for (int32_t i = first + 1; i < end; i++) {
            const int16_t *c = cells + 4 * (int64_t)vertex[i];
            for (int a = 0; a < 3; a++) {
                lowest[a] = c[a] < lowest[a] ? c[a] : lowest[a];
                highest[a] = c[a] > highest[a] ? c[a] : highest[a];
            }
        }
#endif
        float box_low[3], box_high[3];
        for (int a = 0; a < 3; a++) {
            box_low[a] = low[a] + ((float)lowest[a] + 32767.0f) * step[a] - grow;
            box_high[a] = low[a] + ((float)highest[a] + 32770.0f) * step[a] + grow;
        }
        set_box(group, lane, box_low, box_high);
    }
}

/* Leaf boxes from the vertices themselves, for a frame with a vertex that is not finite. A leaf
 * with a vertex that is not a number is empty: its numpy box is NaN, which no segment meets. */
static void leaves_from_vertices(const float *const axis[3], int64_t leaves,
                                 const int32_t *start, const int32_t *vertex, float grow,
                                 float *boxes) {
    for (int64_t k = 0; k < leaves; k++) {
        float *group = boxes + (k / BRANCHING) * GROUP;
        int lane = (int)(k % BRANCHING);
        float low[3] = {INFINITY, INFINITY, INFINITY}, high[3] = {-INFINITY, -INFINITY, -INFINITY};
        int nan = start[k] == start[k + 1];
        for (int32_t i = start[k]; i < start[k + 1]; i++) {
            for (int a = 0; a < 3; a++) {
                float p = axis[a][vertex[i]];
                nan |= isnan(p);
                low[a] = p < low[a] ? p : low[a];
                high[a] = p > high[a] ? p : high[a];
            }
        }
        if (nan) {
            set_empty(group, lane);
            continue;
        }
        for (int a = 0; a < 3; a++) {
            low[a] -= grow;
            high[a] += grow;
        }
        set_box(group, lane, low, high);
    }
}

/* The boxes of a level of ``count`` nodes around their children (groups of the level below). */
static void parent_boxes(const float *children, int64_t count, float *boxes) {
    for (int64_t q = 0; q < count; q++) {
        const float *group = children + q * GROUP;
        float low[3], high[3];
        for (int a = 0; a < 3; a++) {
            low[a] = INFINITY;
            high[a] = -INFINITY;
            for (int c = 0; c < BRANCHING; c++) {
                float l = group[a * BRANCHING + c], h = group[(a + 3) * BRANCHING + c];
                low[a] = l < low[a] ? l : low[a];
                high[a] = h > high[a] ? h : high[a];
            }
        }
        set_box(boxes + (q / BRANCHING) * GROUP, (int)(q % BRANCHING), low, high);
    }
}

/* Which of a group's boxes (bit c: child c) the segment (origin, inverse direction, length)
 * passes through. */
static unsigned meets(const float *group, const float *origin, const float *inverse,
                      float length) {
#if defined(__SSE2__)
    unsigned mask = 0;
    for (int half = 0; half < BRANCHING; half += 4) {
        const float *lows = group + half, *highs = group + 3 * BRANCHING + half;
        __m128 entry = _mm_setzero_ps(), leave = _mm_set1_ps(length);
        for (int a = 0; a < 3; a++) {
            __m128 o = _mm_set1_ps(origin[a]), inv = _mm_set1_ps(inverse[a]);
            __m128 t1 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(lows + a * BRANCHING), o), inv);
            __m128 t2 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(highs + a * BRANCHING), o), inv);
            entry = _mm_max_ps(entry, _mm_min_ps(t1, t2));
            leave = _mm_min_ps(leave, _mm_max_ps(t1, t2));
        }
        __m128 nonempty = _mm_cmple_ps(_mm_loadu_ps(lows), _mm_loadu_ps(highs));
        mask |= (unsigned)_mm_movemask_ps(_mm_and_ps(_mm_cmple_ps(entry, leave), nonempty)) << half;
    }
    return mask;
#else
    unsigned mask = 0;
    for (int c = 0; c < BRANCHING; c++) {
        float entry = 0.0f, leave = length;
        for (int a = 0; a < 3; a++) {
            float t1 = (group[a * BRANCHING + c] - origin[a]) * inverse[a];
            float t2 = (group[(a + 3) * BRANCHING + c] - origin[a]) * inverse[a];
            float near = t1 < t2 ? t1 : t2, far = t1 < t2 ? t2 : t1;
            entry = near > entry ? near : entry;
            leave = far < leave ? far : leave;
        }
        mask |= (unsigned)(entry <= leave && group[c] <= group[3 * BRANCHING + c]) << c;
    }
    return mask;
#endif
}

typedef struct {
    int32_t *ray, *chunk;
    float *t;
    uint8_t *entering;
    int64_t count, capacity;
} Hits;

/* Moller-Trumbore against the chunk's triangles, as ``triangle_rays._ray_triangle`` computes it:
 * the same products and sums in the same order, each rounded to single precision. */
static void test_chunk(const float *const axis[3], const int32_t *triangles, const float *o,
                       const float *d, double length, int32_t ray, int32_t chunk, Hits *hits) {
    const float *x = axis[0], *y = axis[1], *z = axis[2];
    for (int j = 0; j < CHUNK; j++) {
        const int32_t *tri = triangles + 3 * j;
        float v0x = x[tri[0]], v0y = y[tri[0]], v0z = z[tri[0]];
        float e1x = x[tri[1]] - v0x, e1y = y[tri[1]] - v0y, e1z = z[tri[1]] - v0z;
        float e2x = x[tri[2]] - v0x, e2y = y[tri[2]] - v0y, e2z = z[tri[2]] - v0z;
        float px = d[1] * e2z - d[2] * e2y;
        float py = d[2] * e2x - d[0] * e2z;
        float pz = d[0] * e2y - d[1] * e2x;
        float det = e1x * px + e1y * py + e1z * pz;
        if (!(fabsf(det) > 1e-12f))
            continue;
        float inv = 1.0f / det;
        float sx = o[0] - v0x, sy = o[1] - v0y, sz = o[2] - v0z;
        float u = (sx * px + sy * py + sz * pz) * inv;
        float qx = sy * e1z - sz * e1y;
        float qy = sz * e1x - sx * e1z;
        float qz = sx * e1y - sy * e1x;
        float v = (d[0] * qx + d[1] * qy + d[2] * qz) * inv;
        float t = (e2x * qx + e2y * qy + e2z * qz) * inv;
        if (!(u >= 0 && v >= 0 && u + v <= 1))
            continue;
        if (!(t > 1e-9f && (double)t < length))
            continue;
        if (hits->count < hits->capacity) {
            hits->ray[hits->count] = ray;
            hits->chunk[hits->count] = chunk;
            hits->t[hits->count] = t;
            hits->entering[hits->count] = det > 0;
        }
        hits->count++;
    }
}

static int64_t groups_of(int64_t count) { return (count + BRANCHING - 1) / BRANCHING; }

/* Every crossing of the segments with the chunks' triangles.
 *
 * planar (frames, 3, vertex_count): each frame's vertices, x, y and z rows. The segments come in
 * ``groups``: group g is segments group_start[g] .. group_start[g + 1] - 1, in frame
 * group_frame[g]. Per segment: origin (3), unit direction (3), inverse direction (3) and length,
 * single precision, and the length in double precision. levels, sizes[levels]: node counts,
 * leaves first, each level BRANCHING times the next; the leaves' triangles (sizes[0], CHUNK, 3)
 * and distinct vertices (start, vertex) are in natural order.
 *
 * Writes up to ``capacity`` crossings (segment, leaf, distance, entering) and returns how many
 * there are (call again with room for all if that is more), or -1 when memory runs out. */
int64_t bm3d_cast(const float *planar, int64_t vertex_count, int64_t groups,
                  const int64_t *group_frame, const int64_t *group_start, const float *origin,
                  const float *unit, const float *inverse, const float *length,
                  const double *length64, int64_t levels, const int64_t *sizes,
                  const int32_t *triangles, const int32_t *start, const int32_t *vertex, float grow,
                  int32_t *out_ray, int32_t *out_chunk, float *out_t, uint8_t *out_entering,
                  int64_t capacity) {
    int64_t offset[64], total = 0;
    if (levels < 1 || levels > 64)
        return -1;
    for (int64_t l = 0; l < levels; l++) {
        offset[l] = total;
        total += groups_of(sizes[l]) * GROUP;
    }
    int64_t top_groups = groups_of(sizes[levels - 1]);
    int64_t stack_size = top_groups + BRANCHING * levels; /* entries: level, first node */
    float *boxes = malloc(sizeof(float) * (size_t)total);
    int64_t *stack = malloc(sizeof(int64_t) * 2 * (size_t)stack_size);
    int16_t *cells = malloc(sizeof(int16_t) * 4 * (size_t)(vertex_count > 0 ? vertex_count : 1));
    if (!boxes || !stack || !cells) {
        free(boxes);
        free(stack);
        free(cells);
        return -1;
    }
    for (int64_t l = 0; l < levels; l++) /* the lanes past a level's last node stay empty */
        for (int64_t k = sizes[l]; k < groups_of(sizes[l]) * BRANCHING; k++)
            set_empty(boxes + offset[l] + (k / BRANCHING) * GROUP, (int)(k % BRANCHING));
    Hits hits = {out_ray, out_chunk, out_t, out_entering, 0, capacity};
    for (int64_t g = 0; g < groups; g++) {
        const float *x = planar + group_frame[g] * 3 * vertex_count;
        const float *const axis[3] = {x, x + vertex_count, x + 2 * vertex_count};
        float low[3], step[3];
        if (grid_cells(axis, vertex_count, cells, low, step))
            leaves_from_cells(cells, low, step, sizes[0], start, vertex, grow, boxes);
        else
            leaves_from_vertices(axis, sizes[0], start, vertex, grow, boxes);
        for (int64_t l = 1; l < levels; l++)
            parent_boxes(boxes + offset[l - 1], sizes[l], boxes + offset[l]);
        for (int64_t r = group_start[g]; r < group_start[g + 1]; r++) {
            const float *o = origin + 3 * r, *inv = inverse + 3 * r;
            int64_t depth = 0;
            for (int64_t q = top_groups - 1; q >= 0; q--) {
                stack[2 * depth] = levels - 1;
                stack[2 * depth + 1] = q;
                depth++;
            }
            while (depth > 0) {
                depth--;
                int64_t level = stack[2 * depth], q = stack[2 * depth + 1];
                unsigned mask = meets(boxes + offset[level] + q * GROUP, o, inv, length[r]);
                for (int c = BRANCHING - 1; c >= 0; c--) {
                    if (!(mask >> c & 1u))
                        continue;
                    int64_t node = q * BRANCHING + c;
                    if (level == 0) {
                        test_chunk(axis, triangles + node * CHUNK * 3, o, unit + 3 * r,
                                   length64[r], (int32_t)r, (int32_t)node, &hits);
                    } else {
                        stack[2 * depth] = level - 1;
                        stack[2 * depth + 1] = node;
                        depth++;
                    }
                }
            }
        }
    }
    free(boxes);
    free(stack);
    free(cells);
    return hits.count;
}

// Poison header: a pure codec (KAKEHI_PURE_CODEC) must not do I/O. See STYLE "Layering".
#error "kakehi: pure codecs must not include <liburing.h>"

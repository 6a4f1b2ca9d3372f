/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KAP_VERSION_H
#define KAP_VERSION_H

#define KAP_VERSION "0.1.0"

#endif /* KAP_VERSION_H */

# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one.* methods: parameters as xmlrpc-c reads them, responses as Request builds them.

Success is ``[True, value, 0]``; failure ``[False, message, code, resp_id, -1]`` with the
message of Request::failure_message (``[one.vm.info] Error getting virtual machine [7].``).
A parameter of the wrong type or a missing one is an XML-RPC fault -501 (xmlrpc-c's
paramList), which pyone turns into a plain OneException.
"""

from __future__ import annotations

import xmlrpc.client

from . import render
from . import template as tmpl
from .cloud import (AUTHENTICATION, AUTHORIZATION, DONE, INTERNAL, NO_EXISTS, OBJECT_NAMES,
                    VM_STATES, XML_RPC_API, OneError)

TYPE_ERROR = -501           # xmlrpc-c fault::CODE_TYPE
NO_SUCH_METHOD = -506       # XMLRPC_NO_SUCH_METHOD_ERROR


class Params:
    """paramList: typed getters raising xmlrpc-c's faults; optional ones take a default."""

    _KINDS = {int: "integer", str: "a string", bool: "boolean"}

    def __init__(self, params):
        self.params = params

    def get(self, index, kind, default=None):
        if index >= len(self.params):
            if default is not None:
                return default
            raise xmlrpc.client.Fault(TYPE_ERROR, "Not enough parameters")
        value = self.params[index]
        # an XML-RPC boolean is no integer to xmlrpc-c, but a Python bool is an int
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise xmlrpc.client.Fault(
                TYPE_ERROR, "Parameter that is supposed to be %s is not" % self._KINDS[kind])
        return value

    def template(self, index):
        """A template parameter; Template::parse_str_or_xml errors are INTERNAL failures."""
        try:
            return tmpl.parse(self.get(index, str))
        except tmpl.TemplateError as exc:
            raise OneError(INTERNAL, str(exc)) from exc


def _failure_message(method, error, user):
    """Request::failure_message."""
    obname = OBJECT_NAMES.get(error.obj or METHODS[method][0], "")
    head, code = "[%s] " % method, error.code
    if code == AUTHENTICATION:
        return head + "User couldn't be authenticated, aborting call."
    if code == AUTHORIZATION:
        uid = user["id"] if user else -1
        if error.msg:
            return head + "User [%d] : %s." % (uid, error.msg)
        return head + "User [%d] not authorized to perform action on %s." % (uid, obname)
    if code == NO_EXISTS:
        where = " [%d]." % error.resp_id if error.resp_id != -1 else " Pool."
        return head + "Error getting " + obname + where
    return head + error.msg


def dispatch(cloud, method, params):
    """One call: count, authenticate, maybe inject a failure, run; the response array."""
    cloud.count(method)
    if method not in METHODS:
        raise xmlrpc.client.Fault(NO_SUCH_METHOD, "Method %s not defined" % method)
    call = Params(params)
    session = call.get(0, str)
    with cloud.lock:
        user = cloud.authenticate(session)
        try:
            if user is None:
                raise OneError(AUTHENTICATION)
            if cloud.inject_error(method):
                raise OneError(cloud.knobs["error_code"], cloud.knobs["error_message"])
            value = METHODS[method][1](cloud, user, call)
            return [True, value, 0]
        except OneError as error:
            return [False, _failure_message(method, error, user), error.code, error.resp_id,
                    -1]
        finally:
            cloud.save()


# -- handlers: (cloud, user, params) -> the value of a successful response ---------------------

def _system_version(cloud, user, call):
    return cloud.VERSION


def _user_info(cloud, user, call):
    uid = call.get(1, int)
    uid = user["id"] if uid == -1 else uid
    other = cloud.users.get(uid)
    if other is None:
        raise OneError(NO_EXISTS, resp_id=uid)
    if other is not user and not cloud.is_admin(user):
        raise OneError(AUTHORIZATION, "Not authorized to perform USE USER [%d]" % uid)
    return render.user_xml(cloud, other)


def _vm_allocate(cloud, user, call):
    attrs = call.template(1)
    return cloud.allocate_vm(user, attrs, call.get(2, bool, False))


def _vm_info(cloud, user, call):
    vm = cloud.get(user, "vm", call.get(1, int))
    cloud.advance()
    return render.vm_xml(vm)


def _vm_action(cloud, user, call):
    return cloud.vm_action(user, call.get(1, str), call.get(2, int))


def _vm_update(cloud, user, call):
    vid, update_type = call.get(1, int), call.get(3, int)
    if update_type not in (0, 1):
        raise OneError(XML_RPC_API, "Wrong update type")
    return cloud.vm_update(user, vid, call.template(2), update_type == 1)


def _vm_attach(cloud, user, call):
    vid = call.get(1, int)
    return cloud.vm_attach(user, vid, call.template(2))


def _vm_detach(cloud, user, call):
    return cloud.vm_detach(user, call.get(1, int), call.get(2, int))


def _search_token(vm):
    """What MySQL's full-text index of a VM covers: its name, owner and template values."""
    values = [vm["name"], vm["uname"], vm["gname"]]
    for pair in vm["template"] + vm["user_template"]:
        values += pair[1].values() if isinstance(pair[1], dict) else [pair[1]]
    return " ".join(values).lower()


def _vm_pool(extended):
    def handler(cloud, user, call):
        flag, start, end = call.get(1, int), call.get(2, int), call.get(3, int)
        state, query = call.get(4, int), call.get(5, str, "")
        if not -2 <= state < len(VM_STATES):
            raise OneError(XML_RPC_API, "Incorrect filter_flag, state")

        def keep(vm):
            return ((state == -2 or (state == -1 and vm["state"] != DONE)
                     or vm["state"] == state)
                    and query.lower() in _search_token(vm))

        vms = cloud.pool(user, "vm", flag, start, end, keep)
        body = render.vm_xml if extended else render.vm_short_xml
        return render.pool_xml("VM_POOL", [body(vm) for vm in vms])
    return handler


def _template_allocate(cloud, user, call):
    return cloud.template_allocate(user, call.template(1))


def _template_instantiate(cloud, user, call):
    tid, name = call.get(1, int), call.get(2, str)
    hold, extra = False, []
    if len(call.params) > 3:
        hold = call.get(3, bool)
        extra = call.template(4) if call.get(4, str) else []
    return cloud.template_instantiate(user, tid, name, hold, extra)


def _info(kind, body):
    def handler(cloud, user, call):
        return body(cloud, cloud.get(user, kind, call.get(1, int)))
    return handler


def _pool(kind, root, body, with_filter=True):
    def handler(cloud, user, call):
        if with_filter:
            objects = cloud.pool(user, kind, call.get(1, int), call.get(2, int),
                                 call.get(3, int))
        else:
            objects = cloud.pool(user, kind, -2, -1, -1)
        return render.pool_xml(root, [body(cloud, obj) for obj in objects])
    return handler


def _net(cloud, net):
    return render.vnet_xml(cloud, net)


def _net_short(cloud, net):
    return render.vnet_xml(cloud, net, extended=False)


def _image(cloud, image):
    return render.image_xml(image)


def _vm_template(cloud, vmt):
    return render.template_xml(vmt)


# method: (the object its failures name, handler)
METHODS = {
    "one.system.version": (None, _system_version),
    "one.user.info": ("user", _user_info),
    "one.vm.allocate": ("vm", _vm_allocate),
    "one.vm.info": ("vm", _vm_info),
    "one.vm.action": ("vm", _vm_action),
    "one.vm.update": ("vm", _vm_update),
    "one.vm.attach": ("vm", _vm_attach),
    "one.vm.detach": ("vm", _vm_detach),
    "one.vmpool.info": ("vm", _vm_pool(extended=False)),
    "one.vmpool.infoextended": ("vm", _vm_pool(extended=True)),
    "one.template.allocate": ("template", _template_allocate),
    "one.template.info": ("template", _info("template", _vm_template)),
    "one.template.instantiate": ("template", _template_instantiate),
    "one.templatepool.info": ("template", _pool("template", "VMTEMPLATE_POOL", _vm_template)),
    "one.image.info": ("image", _info("image", _image)),
    "one.imagepool.info": ("image", _pool("image", "IMAGE_POOL", _image)),
    "one.vn.info": ("net", _info("net", _net)),
    "one.vnpool.info": ("net", _pool("net", "VNET_POOL", _net_short)),
    "one.datastore.info": ("datastore", _info("datastore", render.datastore_xml)),
    "one.datastorepool.info": ("datastore", _pool("datastore", "DATASTORE_POOL",
                                                  render.datastore_xml, with_filter=False)),
}

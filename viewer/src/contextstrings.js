// The text of the viewer's context (layer counts, status, isolation, cut), zh-CN and English
// (added to i18n.js's tables).

import { addStrings } from "./i18n.js";

addStrings({
  "zh-CN": {
    "layer.parcels": "地块",
    "context.layerObjects": "{n} 栋建筑，共 {objects} 个对象",
    "context.ready": "就绪",
    "context.loading": "正在加载三维城市…",
    "context.debug": "调试",
    "context.noIsolation": "未隔离，显示全部。选中一栋建筑或一个楼层，再点“隔离建筑”或“隔离楼层”，可单独查看。",
    "context.storeyDown": "下移一层",
    "context.storeyUp": "上移一层",
  },
  en: {
    "layer.parcels": "Parcels",
    "context.layerObjects": "{n} buildings, {objects} objects in all",
    "context.ready": "ready",
    "context.loading": "loading the 3D city…",
    "context.debug": "debug",
    "context.noIsolation":
      "Nothing isolated: everything shown. Select a building or a storey, then “Isolate building” or “Isolate storey” to look at it alone.",
    "context.storeyDown": "One storey down",
    "context.storeyUp": "One storey up",
  },
});
